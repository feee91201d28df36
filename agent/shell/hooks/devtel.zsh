# devtel shell hook for zsh: eval "$(devtel-agent hook zsh)" in ~/.zshrc.
# Each interactive command appends one line to $DEVTEL_HOME/shell.spool with builtins only:
#   1 <TAB> zsh <TAB> shell pid <TAB> start <TAB> end <TAB> exit status <TAB> directory <TAB> command line
# preexec notes the start, precmd writes. No fork, no subshell, no network. It appends only to
# a spool the agent made (devtel-agent hook makes it): with DEVTEL_HOME missing or read-only it
# writes nothing, and says nothing. DEVTEL_HOME is read once, when the hook is installed.
# zsh runs these hooks for interactive command lines only, so completion functions and prompt
# code are never seen.

zmodload zsh/datetime zsh/system 2>/dev/null  # $EPOCHREALTIME, sysopen, syswrite; modules, not processes
autoload -Uz add-zsh-hook

__devtel_preexec() {
    __devtel_start=${EPOCHREALTIME-} __devtel_dir=$PWD __devtel_cmd=${1[1,4096]}
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

__devtel_precmd() {
    __devtel_status=$?
    (( EPOCHSECONDS < __devtel_reopen )) ||
        { [[ $__devtel_spool -ef /dev/fd/$__devtel_fd ]] && __devtel_reopen=$((EPOCHSECONDS + 10)); } ||
        __devtel_open && [[ -n $__devtel_start ]] &&
        syswrite -o $__devtel_fd "1	zsh	$$	$__devtel_start	${EPOCHREALTIME-}	$__devtel_status	${__devtel_dir//$'\n'/ }	${__devtel_cmd//$'\n'/ }
"
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
