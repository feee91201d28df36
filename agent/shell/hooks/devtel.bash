# devtel shell hook for bash (5.0 or later): eval "$(devtel-agent hook bash)" at the end of ~/.bashrc.
# Each interactive command appends one line to $DEVTEL_HOME/shell.spool with builtins only:
#   1 <TAB> bash <TAB> shell pid <TAB> start <TAB> end <TAB> exit status <TAB> directory <TAB> simple commands run
# PS0 notes the start of every command line (even one the DEBUG trap never sees, such as a
# subshell); the DEBUG trap notes each simple command the line runs; PROMPT_COMMAND writes.
# No fork, no subshell, no network. It appends only to a spool the agent made (devtel-agent
# hook makes it, unless consent is off): with DEVTEL_HOME missing or read-only, the spool
# deleted (consent off) or a full disk it writes nothing, and says nothing; nor with
# DO_NOT_TRACK, DEVTEL_DISABLE_TELEMETRY or OTEL_SDK_DISABLED set (1, true, yes, on).
# DEVTEL_HOME is read once, when the hook is installed.

# The spool stays open between commands: a write to a held descriptor costs no path lookup,
# no open and no close. The agent rotates the spool by renaming it, so at the first prompt 10 s
# or more after its last check the hook checks that it still holds the live spool (two stat
# calls) and opens it again if not; the agent keeps reading a rotated file until no shell can
# still be writing it (agent/shell/spool.py). Only a spool that exists and is writable is
# opened; until one is, every prompt tries again and writes nothing.
__devtel_open() {
    [[ -z $__devtel_fd ]] || exec {__devtel_fd}>&-
    __devtel_fd=
    [[ -w $__devtel_spool ]] && { exec {__devtel_fd}>>"$__devtel_spool"; } 2>/dev/null &&
        __devtel_reopen=$((EPOCHSECONDS + 10))
}

# Before every simple command, from the DEBUG trap: a function, parsed once, is cheaper than a
# trap string bash parses anew each time. Armed only between PS0 and the next prompt. A loop's
# repeats are cut at 4 KiB, enough to classify.
__devtel_debug() {
    [[ -z $__devtel_start || $BASH_COMMAND == __devtel_* || ${#__devtel_cmd} -ge 4096 ]] ||
        __devtel_cmd+="${__devtel_cmd:+; }${BASH_COMMAND:0:1024}"
}

# Whether this prompt records a line:
# - only into a spool that exists, checked at every prompt (one stat call): the agent deletes
#   it when consent goes off, and no line is written after that;
# - not with an opt-out variable set in the shell (1, true, yes or on);
# - with HISTCONTROL ignoring lines typed with a leading space, not a line bash kept out of
#   history. bash shows a hook no raw line, but the history count ($HISTCMD) stays put for a
#   line it did not keep: a duplicate (ignoredups) runs the same command as the last one
#   recorded; anything else was typed with a leading space (or matched HISTIGNORE).
# __devtel_precmd makes the common case (no opt-out variable set at all) one test; this
# function is the whole rule.
__devtel_may_record() {
    [[ -n $__devtel_start && -e $__devtel_spool && (${HISTCONTROL-} != *ignore@(space|both)* ||
        :$SHELLOPTS: != *:history:* || ${HISTCMD-} != "$__devtel_histno" ||
        $__devtel_cmd == "$__devtel_last") ]] || return 1
    local v
    for v in "${DO_NOT_TRACK-}" "${DEVTEL_DISABLE_TELEMETRY-}" "${OTEL_SDK_DISABLED-}"; do
        [[ ${v,,} == 1 || ${v,,} == true || ${v,,} == yes || ${v,,} == on ]] && return 1
    done
    return 0
}

# First entry of PROMPT_COMMAND: $? is still the command's status here, and is handed on so
# later entries and PS1 see it too. Few statements: in bash each one costs microseconds. A
# failed write (a full disk) is silent: printf's stderr is closed.
__devtel_precmd() {
    __devtel_status=$?
    if [[ -z ${DO_NOT_TRACK-}${DEVTEL_DISABLE_TELEMETRY-}${OTEL_SDK_DISABLED-} && -n $__devtel_start &&
        -e $__devtel_spool && (${HISTCONTROL-} != *ignore@(space|both)* || :$SHELLOPTS: != *:history:* ||
        ${HISTCMD-} != "$__devtel_histno" || $__devtel_cmd == "$__devtel_last") ]] || __devtel_may_record; then
        __devtel_histno=${HISTCMD-} __devtel_last=$__devtel_cmd
        (( EPOCHSECONDS < __devtel_reopen )) ||
            { [[ $__devtel_spool -ef /dev/fd/$__devtel_fd ]] && __devtel_reopen=$((EPOCHSECONDS + 10)); } ||
            __devtel_open &&
            printf '1\tbash\t%s\t%s\t%s\t%s\t%s\t%s\n' "$$" "$__devtel_start" "${EPOCHREALTIME-}" "$__devtel_status" \
                "${__devtel_dir//$'\n'/ }" "${__devtel_cmd//$'\n'/ }" 2>&- >&"$__devtel_fd"
    else
        [[ -e $__devtel_spool ]] || __devtel_reopen=0  # a spool made again is another file
        __devtel_histno=${HISTCMD-}  # the history count to compare the next line's with
    fi
    __devtel_start= __devtel_cmd= __devtel_dir=
    return "$__devtel_status"
}

# Install once per shell, keeping whatever PROMPT_COMMAND (string or array), PS0 and DEBUG trap
# exist. Disarmed meanwhile: evaluated again at a prompt, the line is recorded, not this code.
__devtel_rearm=${__devtel_start-} __devtel_start= __devtel_cmd=${__devtel_cmd-} __devtel_dir=${__devtel_dir-}
__devtel_fd=${__devtel_fd-} __devtel_reopen=${__devtel_reopen:-0}
__devtel_histno=${__devtel_histno-} __devtel_last=${__devtel_last-}
__devtel_spool=${DEVTEL_HOME:-${HOME-}/.local/state/devtel}/shell.spool
if [[ ${PROMPT_COMMAND[*]-} != *__devtel_precmd* ]]; then
    if [[ -n ${PROMPT_COMMAND[1]+set} ]]; then  # an array of several commands
        PROMPT_COMMAND=(__devtel_precmd "${PROMPT_COMMAND[@]}")
    else
        PROMPT_COMMAND="__devtel_precmd${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}"
    fi
fi
# PS0 is expanded once per command line read, never for an empty one: the lookup in an empty
# associative array expands to nothing and only sets the start time and the directory. A set
# start time is what arms the DEBUG trap, so prompt code and completion functions, which run
# while it is empty, are never recorded.
declare -gA __devtel_none=()
if [[ ${PS0-} != *__devtel_* ]]; then
    PS0="${PS0-}"'${__devtel_none[${__devtel_start:=${EPOCHREALTIME-}}${__devtel_dir:=$PWD}]-}'
fi
__devtel_trap=$(trap -p DEBUG)
if [[ $__devtel_trap != *__devtel_debug* ]]; then
    __devtel_trap=${__devtel_trap#trap -- }
    eval "__devtel_trap=${__devtel_trap% DEBUG}"
    trap -- "${__devtel_trap:+$__devtel_trap$'\n'}__devtel_debug" DEBUG
fi
unset __devtel_trap
__devtel_start=$__devtel_rearm
