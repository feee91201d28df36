# devtel shell hook for zsh: eval "$(devtel-agent hook zsh)" in ~/.zshrc.
# Each interactive command appends one line to $DEVTEL_HOME/shell.spool with builtins only:
#   1 <TAB> zsh <TAB> shell pid <TAB> start <TAB> end <TAB> exit status <TAB> directory <TAB> command line
# preexec notes the start, precmd writes. No fork, no subshell, no network. It appends only to
# a spool the agent made (devtel-agent hook makes it, unless consent is off): with DEVTEL_HOME
# missing or read-only, the spool deleted (consent off) or a full disk it writes nothing, and
# says nothing; nor with DO_NOT_TRACK, DEVTEL_DISABLE_TELEMETRY or OTEL_SDK_DISABLED set. DEVTEL_HOME is read once, when the hook is installed.
# zsh runs these hooks for interactive command lines only, so completion functions and prompt
# code are never seen.

zmodload zsh/datetime zsh/system 2>/dev/null  # $EPOCHREALTIME, sysopen, syswrite; modules, not processes
autoload -Uz add-zsh-hook

# $1 is the line as typed: one typed with a leading space is not recorded (as
# HIST_IGNORE_SPACE keeps it out of history). $3 is what runs, aliases expanded, so
# `alias t=pytest` counts as pytest.
__devtel_preexec() {
    [[ $1 == [[:space:]]* ]] && return
    __devtel_start=${EPOCHREALTIME-} __devtel_dir=$PWD __devtel_cmd=${3[1,4096]}
}

# An opt-out variable set in the shell stops the recording at once (looked at only when one
# is set at all).
__devtel_opted_out() {
    local v
    for v in ${DO_NOT_TRACK-} ${DEVTEL_DISABLE_TELEMETRY-} ${OTEL_SDK_DISABLED-}; do
        [[ ${(L)v} == (1|true|yes|on) ]] && return 0
    done
    return 1
}

# The spool stays open between commands (close-on-exec, so no command inherits it): one write
# call per command, no path lookup, no open, no close. The agent rotates the spool by renaming
# it, so at the first prompt 10 s or more after its last check the hook checks that it still
# holds the live spool (two stat calls) and opens it again if not; the agent keeps reading a
# rotated file until no shell can still be writing it (agent/shell/spool.py). sysopen without
# -o creat opens only a spool that exists and is writable; until one is, every prompt tries
# again and writes nothing.
__devtel_open() {
    [[ -z $__devtel_fd ]] || { exec {__devtel_fd}>&- } 2>/dev/null  # closed by someone else: quietly
    __devtel_fd=
    zmodload -e zsh/system && sysopen -a -o cloexec -u __devtel_fd -- $__devtel_spool 2>/dev/null &&
        __devtel_reopen=$((EPOCHSECONDS + 10))
}

# The spool's existence is checked at every prompt (one stat call): the agent deletes it when
# consent goes off, and no line is written after that. syswrite fails silently (a full disk).
__devtel_precmd() {
    __devtel_status=$?
    if [[ -n $__devtel_start && -e $__devtel_spool ]] &&
        { [[ -z ${DO_NOT_TRACK-}${DEVTEL_DISABLE_TELEMETRY-}${OTEL_SDK_DISABLED-} ]] || ! __devtel_opted_out }; then
        (( EPOCHSECONDS < __devtel_reopen )) ||
            { [[ $__devtel_spool -ef /dev/fd/$__devtel_fd ]] && __devtel_reopen=$((EPOCHSECONDS + 10)) } ||
            __devtel_open &&
            syswrite -o $__devtel_fd "1	zsh	$$	$__devtel_start	${EPOCHREALTIME-}	$__devtel_status	${__devtel_dir//$'\n'/ }	${__devtel_cmd//$'\n'/ }
"
    elif [[ ! -e $__devtel_spool ]]; then
        __devtel_reopen=0  # a spool made again is another file: check before the next write
    fi
    __devtel_start= __devtel_dir= __devtel_cmd=
    return $__devtel_status
}

__devtel_start=${__devtel_start-} __devtel_dir=${__devtel_dir-} __devtel_cmd=${__devtel_cmd-}
__devtel_fd=${__devtel_fd-} __devtel_reopen=${__devtel_reopen:-0}
__devtel_spool=${DEVTEL_HOME:-${HOME-}/.local/state/devtel}/shell.spool
# add-zsh-hook adds each function once, so a second eval changes nothing. precmd goes first,
# while $? is still the command's status.
add-zsh-hook preexec __devtel_preexec
add-zsh-hook precmd __devtel_precmd
precmd_functions=(__devtel_precmd ${precmd_functions:#__devtel_precmd})
