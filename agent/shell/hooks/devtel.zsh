# devtel shell hook for zsh: eval "$(devtel-agent hook zsh)" in ~/.zshrc.
# Each interactive command appends one line to $DEVTEL_HOME/shell.spool with builtins only:
#   1 <TAB> zsh <TAB> shell pid <TAB> start <TAB> end <TAB> exit status <TAB> directory <TAB> command line
# preexec notes the start, precmd writes. No fork, no subshell, no network. It appends only to
# a spool the agent made (devtel-agent hook makes it): with DEVTEL_HOME missing or read-only it
# writes nothing, and says nothing. DEVTEL_HOME is read once, when the hook is installed.
# zsh runs these hooks for interactive command lines only, so completion functions and prompt
# code are never seen.

zmodload zsh/datetime 2>/dev/null  # $EPOCHREALTIME; a module load, not a process
autoload -Uz add-zsh-hook

__devtel_preexec() {
    __devtel_start=${EPOCHREALTIME-}
    __devtel_dir=$PWD
    __devtel_cmd=${1[1,4096]}
}

# Only into a spool the agent made: one access check, cheaper than silencing stderr (zsh
# reports a failed redirection whatever 2> says).
__devtel_precmd() {
    __devtel_status=$?
    [[ -n $__devtel_start && -w $__devtel_spool ]] &&
        builtin printf '1\tzsh\t%s\t%s\t%s\t%s\t%s\t%s\n' "$$" "$__devtel_start" "${EPOCHREALTIME-}" "$__devtel_status" \
            "${__devtel_dir//$'\n'/ }" "${__devtel_cmd//$'\n'/ }" >>|"$__devtel_spool"
    __devtel_start= __devtel_dir= __devtel_cmd=
    return $__devtel_status
}

__devtel_start=${__devtel_start-} __devtel_dir=${__devtel_dir-} __devtel_cmd=${__devtel_cmd-}
__devtel_spool=${DEVTEL_HOME:-${HOME-}/.local/state/devtel}/shell.spool
# add-zsh-hook adds each function once, so a second eval changes nothing. precmd goes first,
# while $? is still the command's status.
add-zsh-hook preexec __devtel_preexec
add-zsh-hook precmd __devtel_precmd
precmd_functions=(__devtel_precmd ${precmd_functions:#__devtel_precmd})
