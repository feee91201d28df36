# devtel shell hook for bash: eval "$(devtel-agent hook bash)" at the end of ~/.bashrc.
# Each interactive command appends one line to $DEVTEL_HOME/shell.spool with builtins only:
#   1 <TAB> bash <TAB> start <TAB> end <TAB> exit status <TAB> directory <TAB> simple commands run
# PS0 notes the start of every command line (even one the DEBUG trap never sees, such as a
# subshell); the DEBUG trap notes each simple command the line runs; PROMPT_COMMAND writes.
# No fork, no subshell, no network; with DEVTEL_HOME missing or read-only it writes nothing.

# Runs in the DEBUG trap, before every simple command. Armed only between the end of
# PROMPT_COMMAND and the next prompt, so prompt code and completion functions are never seen.
__devtel_debug() {
    [[ -n ${__devtel_armed-} && -z ${COMP_LINE-} && ${BASH_COMMAND-} != __devtel_* ]] || return 0
    if [[ -z ${__devtel_start-} ]]; then  # PS0 was replaced after the hook was installed
        __devtel_start=${EPOCHREALTIME-}
        __devtel_dir=$PWD
    fi
    if [[ -z ${__devtel_cmd-} ]]; then
        __devtel_cmd=${BASH_COMMAND:0:1024}
    elif (( ${#__devtel_cmd} < 4096 )); then
        # Loops repeat their commands: the record keeps the first 4 KiB, enough to classify.
        __devtel_cmd+="; ${BASH_COMMAND:0:1024}"
    fi
    return 0
}

# First entry of PROMPT_COMMAND: $? is still the command's status here.
__devtel_precmd() {
    local __devtel_status=$? __devtel_end=${EPOCHREALTIME-}
    __devtel_armed=
    if [[ -n ${__devtel_start-} ]]; then
        local __devtel_file=${DEVTEL_HOME:-${HOME-}/.local/state/devtel}/shell.spool
        if [[ -d ${__devtel_file%/*} && -w ${__devtel_file%/*} ]]; then
            # The group's stderr is /dev/null before the append can fail (a full disk, say).
            { printf '1\tbash\t%s\t%s\t%s\t%s\t%s\n' "$__devtel_start" "$__devtel_end" "$__devtel_status" \
                "${__devtel_dir//[$'\t\n']/ }" "${__devtel_cmd//[$'\t\n']/ }" >>"$__devtel_file"; } 2>/dev/null
        fi
        __devtel_start= __devtel_cmd= __devtel_dir=
    fi
    return "$__devtel_status"
}

# Last entry of PROMPT_COMMAND: from here on, a simple command is the user's.
__devtel_arm() {
    local __devtel_status=$?
    __devtel_armed=1
    return "$__devtel_status"
}

# Install once per shell, keeping whatever PROMPT_COMMAND (string or array) and DEBUG trap exist.
# Disarmed meanwhile, so a second eval at the prompt records only itself, not this code.
__devtel_rearm=${__devtel_armed-} __devtel_armed=
if [[ ${PROMPT_COMMAND[*]-} != *__devtel_precmd* ]]; then
    if [[ -n ${PROMPT_COMMAND[1]+set} ]]; then  # an array of several commands
        PROMPT_COMMAND=(__devtel_precmd "${PROMPT_COMMAND[@]}" __devtel_arm)
    else
        PROMPT_COMMAND="__devtel_precmd${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}"$'\n'__devtel_arm
    fi
fi
# PS0 is expanded once per command line read, never for an empty one; the lookup in an empty
# associative array expands to nothing and only assigns the start time and directory.
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
__devtel_armed=$__devtel_rearm
