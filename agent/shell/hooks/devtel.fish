# devtel shell hook for fish: devtel-agent hook fish | source, in ~/.config/fish/config.fish.
# Each interactive command appends one line to $DEVTEL_HOME/shell.spool with builtins only:
#   1 <TAB> fish <TAB> shell pid <TAB> start <TAB> end <TAB> exit status <TAB> directory <TAB> command line
# No fork, no subshell, no network. It appends only to a spool the agent made (devtel-agent
# hook makes it): with DEVTEL_HOME missing or read-only it writes nothing, and says nothing.
# Redefining these functions replaces their handlers, so sourcing twice records once.

function __devtel_preexec --on-event fish_preexec
    set -g __devtel_dir $PWD
end

function __devtel_postexec --on-event fish_postexec
    set -l devtel_status $status
    set -l devtel_ms $CMD_DURATION
    set -q __devtel_dir[1]; or return $devtel_status
    set -l devtel_dir $__devtel_dir
    set -e __devtel_dir
    set -l devtel_home $HOME/.local/state/devtel
    if set -q DEVTEL_HOME[1]; and test -n "$DEVTEL_HOME"
        set devtel_home $DEVTEL_HOME
    end
    test -w $devtel_home/shell.spool; or return $devtel_status  # only into a spool the agent made
    # fish has no builtin clock: the mtime of a one-byte file written now is the time (1 s).
    echo >$devtel_home/shell.clock 2>/dev/null; or return $devtel_status
    set -l devtel_end (path mtime -- $devtel_home/shell.clock)
    set -l devtel_start (math -s3 "$devtel_end - $devtel_ms / 1000")
    set -l devtel_cmd (string join ' ' -- $argv | string replace -ra '[\t\n]' ' ' | string sub -l 4096)
    printf '1\tfish\t%s\t%s\t%s\t%s\t%s\t%s\n' $fish_pid $devtel_start $devtel_end $devtel_status \
        (string replace -ra '[\t\n]' ' ' -- $devtel_dir) "$devtel_cmd" >>$devtel_home/shell.spool 2>/dev/null
    return $devtel_status
end
