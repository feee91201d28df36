# devtel shell hook for fish: devtel-agent hook fish | source, in ~/.config/fish/config.fish.
# Each interactive command appends one line to $DEVTEL_HOME/shell.spool with builtins only:
#   1 <TAB> fish <TAB> shell pid <TAB> start <TAB> end <TAB> exit status <TAB> directory <TAB> command line
# No fork, no subshell, no network. It appends only to a spool the agent made (devtel-agent
# hook makes it, unless consent is off): with DEVTEL_HOME missing or read-only, or the spool
# deleted (consent off) it writes nothing, and says nothing; nor with DO_NOT_TRACK,
# DEVTEL_DISABLE_TELEMETRY or OTEL_SDK_DISABLED set (1, true, yes, on). A command typed with a
# leading space, and `exit`, are not recorded.
# Redefining these functions replaces their handlers, so sourcing twice records once.

function __devtel_preexec --on-event fish_preexec
    set -e __devtel_dir
    string match -qr '^\s' -- "$argv"; and return  # typed with a leading space: not recorded
    string match -qr '^exit\b' -- "$argv"; and return  # the shell ending, not a command
    set -g __devtel_dir $PWD
end

function __devtel_postexec --on-event fish_postexec
    set -l devtel_status $status
    set -l devtel_ms $CMD_DURATION
    set -q __devtel_dir[1]; or return $devtel_status
    set -l devtel_dir $__devtel_dir
    set -e __devtel_dir
    for devtel_v in "$DO_NOT_TRACK" "$DEVTEL_DISABLE_TELEMETRY" "$OTEL_SDK_DISABLED"
        contains -- (string lower -- $devtel_v) 1 true yes on; and return $devtel_status
    end
    set -l devtel_home $HOME/.local/state/devtel
    if set -q DEVTEL_HOME[1]; and test -n "$DEVTEL_HOME"
        set devtel_home $DEVTEL_HOME
    end
    test -w $devtel_home/shell.spool; or return $devtel_status  # only into a spool the agent made
    # fish has no builtin clock: the mtime of a file truncated now is the time (1 s). Truncating
    # writes no byte, so it works on a full disk too.
    true >$devtel_home/shell.clock 2>/dev/null; or return $devtel_status
    set -l devtel_end (path mtime -- $devtel_home/shell.clock)
    set -l devtel_start (math -s3 "$devtel_end - $devtel_ms / 1000")
    # What ran: an alias (a function `alias` made) is recorded as its body.
    set -l devtel_words (string split -m1 ' ' -- (string join ' ' -- $argv))
    if functions -q -- $devtel_words[1]
        set -l devtel_alias (functions -Dv -- $devtel_words[1])[5]
        if string match -qr '^alias \S+?[= ]' -- $devtel_alias
            set devtel_words[1] (string replace -r '^alias \S+?[= ]' '' -- $devtel_alias)
        end
    end
    set -l devtel_cmd (string join ' ' -- $devtel_words | string replace -ra '[\t\n]' ' ' | string sub -l 4096)
    # A write that fails (a full disk) makes fish print an error whatever the redirections
    # (its builtins report write errors on the shell's own stderr): after one, the hook waits
    # for the spool to change (the agent rotating or deleting it: its mtime moves; even a failed
    # write moves it, hence the mtime taken after the failure) before writing again.
    test (path mtime -- $devtel_home/shell.spool) = "$__devtel_failed"; and return $devtel_status
    printf '1\tfish\t%s\t%s\t%s\t%s\t%s\t%s\n' $fish_pid $devtel_start $devtel_end $devtel_status \
        (string replace -ra '[\t\n]' ' ' -- $devtel_dir) "$devtel_cmd" >>$devtel_home/shell.spool 2>/dev/null
    or set -g __devtel_failed (path mtime -- $devtel_home/shell.spool)
    return $devtel_status
end
