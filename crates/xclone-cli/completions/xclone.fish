# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_xclone_global_optspecs
    string join \n h/help V/version
end

function __fish_xclone_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_xclone_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_xclone_using_subcommand
    set -l cmd (__fish_xclone_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c xclone -n "__fish_xclone_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c xclone -n "__fish_xclone_needs_command" -s V -l version -d 'Print version'
complete -c xclone -n "__fish_xclone_needs_command" -f -a "probe" -d 'Show what this kernel and these privileges offer (creates nothing)'
complete -c xclone -n "__fish_xclone_needs_command" -f -a "explain" -d 'Say whether the kernel would accept a clone request, and why not (creates nothing)'
complete -c xclone -n "__fish_xclone_needs_command" -f -a "restore" -d 'Create a process tree with the exact PIDs (every pid-namespace level), parents, sessions and groups a manifest gives; waits for its root'
complete -c xclone -n "__fish_xclone_needs_command" -f -a "tree" -d 'Print the manifest of a running process tree (--json for `restore`)'
complete -c xclone -n "__fish_xclone_needs_command" -f -a "run" -d 'Run a program as a child made with clone3 and exit with its status'
complete -c xclone -n "__fish_xclone_needs_command" -f -a "enter" -d 'Run a program inside a running process\'s namespaces and cgroup, as a child of xclone (nsenter\'s options; the target pinned by a pidfd)'
complete -c xclone -n "__fish_xclone_needs_command" -f -a "__init" -d 'PID 1 for `run --init`: runs the program, forwards signals, reaps orphans'
complete -c xclone -n "__fish_xclone_needs_command" -f -a "__generate" -d 'Writes the man pages and shell completions into DIR (see docs/install.md)'
complete -c xclone -n "__fish_xclone_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c xclone -n "__fish_xclone_using_subcommand probe" -l json -d 'Print one JSON object with stable keys (see docs/probe-json.md) instead of a table'
complete -c xclone -n "__fish_xclone_using_subcommand probe" -s h -l help -d 'Print help'
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l flags -d 'Raw flags: hex/decimal, or a \'|\'-separated list of CLONE_ names (e.g. \'CLONE_NEWUTS|CLONE_NEWIPC\')' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l exit-signal -d 'Signal sent to the parent when the child exits: a name (SIGCHLD, CHLD) or any number (0 for none)' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l set-tid -d 'PIDs for the child, innermost pid namespace first (set_tid)' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l into-cgroup -d 'Create the child in this cgroup2 directory (CLONE_INTO_CGROUP)' -r -F
complete -c xclone -n "__fish_xclone_using_subcommand explain" -s U -l user -d 'New user namespace (CLONE_NEWUSER); with =FILE, bind-mount it on FILE so that it outlives the program (as unshare)' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -s m -l mount -d 'New mount namespace (CLONE_NEWNS); =FILE persists it (FILE\'s mount must have private propagation, as for unshare)' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -s u -l uts -d 'New UTS namespace (CLONE_NEWUTS); =FILE persists it' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -s i -l ipc -d 'New IPC namespace (CLONE_NEWIPC); =FILE persists it' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -s n -l net -d 'New network namespace (CLONE_NEWNET); =FILE persists it (e.g. /run/netns/NAME for `ip netns`)' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -s p -l pid -d 'New PID namespace (CLONE_NEWPID); the child is its PID 1. =FILE persists it' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -s C -l cgroup -d 'New cgroup namespace (CLONE_NEWCGROUP); =FILE persists it' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -s T -l time -d 'New time namespace (CLONE_NEWTIME); =FILE persists it' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l kernel -d 'Judge against the documented behaviour of this kernel release (e.g. 5.4) instead of the running kernel; the caller is still you' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l unshare -d 'Explain unshare(2) with these flags instead of a clone3 request' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l setns -d 'Explain setns(2) on TARGET (a namespace file, or pid:PID for a pidfd) with FLAGS (default 0: the namespace file\'s own type)' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l threads -d 'With --unshare/--setns: judge for a caller whose process has N threads (made with pthreads, which share CLONE_FS) instead of the current one' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l as-user -d 'With --unshare/--setns: judge for a caller running as this uid (no capabilities unless 0) instead of the current one. The setns target is still opened and inspected by you' -r
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l clear-sighand -d 'Reset the child\'s signal handlers to their defaults (CLONE_CLEAR_SIGHAND)'
complete -c xclone -n "__fish_xclone_using_subcommand explain" -l json -d 'Print the verdict as one JSON object'
complete -c xclone -n "__fish_xclone_using_subcommand explain" -s h -l help -d 'Print help'
complete -c xclone -n "__fish_xclone_using_subcommand restore" -l detach -d 'Do not wait for the root process: print the PIDs as JSON and exit 0 once every process runs its program'
complete -c xclone -n "__fish_xclone_using_subcommand restore" -l json -d 'Print the PIDs as one JSON line on stdout once every process runs (before waiting)'
complete -c xclone -n "__fish_xclone_using_subcommand restore" -s h -l help -d 'Print help'
complete -c xclone -n "__fish_xclone_using_subcommand tree" -l json -d 'Print the restore manifest (JSON) instead of an indented tree'
complete -c xclone -n "__fish_xclone_using_subcommand tree" -l env -d 'Include each process\'s environment (it may hold secrets; without it, restored processes get the restorer\'s environment)'
complete -c xclone -n "__fish_xclone_using_subcommand tree" -s h -l help -d 'Print help'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l flags -d 'Raw flags: hex/decimal, or a \'|\'-separated list of CLONE_ names (e.g. \'CLONE_NEWUTS|CLONE_NEWIPC\')' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l exit-signal -d 'Signal sent to the parent when the child exits: a name (SIGCHLD, CHLD) or any number (0 for none)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l set-tid -d 'PIDs for the child, innermost pid namespace first (set_tid)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l into-cgroup -d 'Create the child in this cgroup2 directory (CLONE_INTO_CGROUP)' -r -F
complete -c xclone -n "__fish_xclone_using_subcommand run" -s U -l user -d 'New user namespace (CLONE_NEWUSER); with =FILE, bind-mount it on FILE so that it outlives the program (as unshare)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -s m -l mount -d 'New mount namespace (CLONE_NEWNS); =FILE persists it (FILE\'s mount must have private propagation, as for unshare)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -s u -l uts -d 'New UTS namespace (CLONE_NEWUTS); =FILE persists it' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -s i -l ipc -d 'New IPC namespace (CLONE_NEWIPC); =FILE persists it' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -s n -l net -d 'New network namespace (CLONE_NEWNET); =FILE persists it (e.g. /run/netns/NAME for `ip netns`)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -s p -l pid -d 'New PID namespace (CLONE_NEWPID); the child is its PID 1. =FILE persists it' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -s C -l cgroup -d 'New cgroup namespace (CLONE_NEWCGROUP); =FILE persists it' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -s T -l time -d 'New time namespace (CLONE_NEWTIME); =FILE persists it' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l map-user -d 'Map your effective uid to UID (a number or a user name) inside (implies -U)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l map-group -d 'Map your effective gid to GID (a number or a group name) inside (implies -U and --setgroups deny)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l map-users -d 'Map a uid range (repeatable; implies -U): INNER:OUTER:COUNT (util-linux 2.39), OUTER,INNER,COUNT (2.38), `auto` (your first /etc/subuid range from 0) or `subids` (that range onto itself). Written through newuidmap when you lack CAP_SETUID' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l map-groups -d 'Map a gid range (repeatable; implies -U), in the forms of --map-users (/etc/subgid). Written through newgidmap when you lack CAP_SETGID' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l setgroups -d 'Allow or deny setgroups(2) in the new user namespace' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l mount-proc -d 'Mount a fresh proc on DIR (default /proc; inside --root if given) in a new mount namespace (implies -m; add -p to see only the program\'s processes)' -r -F
complete -c xclone -n "__fish_xclone_using_subcommand run" -l propagation -d 'Propagation of the new mount namespace\'s mounts (default private)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -s R -l root -d 'Run the program with DIR as its root directory (chroot, or pivot_root with --pivot-root)' -r -F
complete -c xclone -n "__fish_xclone_using_subcommand run" -l hostname -d 'Host name in the new UTS namespace (needs -u)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l monotonic -d 'CLOCK_MONOTONIC offset in seconds, e.g. 86400 or -0.25 (needs -T)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l boottime -d 'CLOCK_BOOTTIME offset in seconds (needs -T)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l bind -d 'Bind-mount SRC (recursively, nosuid, nodev) on DEST' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l bind-try -d 'As --bind; a missing SRC is skipped' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l dev-bind -d 'As --bind, devices allowed' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l dev-bind-try -d 'As --dev-bind; a missing SRC is skipped' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l ro-bind -d 'As --bind, every mount below read-only' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l ro-bind-try -d 'As --ro-bind; a missing SRC is skipped' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l remount-ro -d 'Make the mount at DEST read-only' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l tmpfs -d 'Mount a tmpfs on DEST (--perms, --size)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l dev -d 'Mount a minimal /dev on DEST' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l proc -d 'Mount a new proc on DEST' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l mqueue -d 'Mount a new mqueue on DEST' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l dir -d 'Create directory DEST (--perms)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l symlink -d 'Create symlink DEST pointing at SRC' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l file -d 'Copy what descriptor FD yields into file DEST (--perms)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l bind-data -d 'Copy FD\'s data into a file bound on DEST (--perms)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l ro-bind-data -d 'As --bind-data, read-only' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l chmod -d 'Change the permissions of PATH' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l perms -d 'Permissions of the next --dir, --tmpfs, --file or --bind-data' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l size -d 'Size of the next --tmpfs' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l setenv -d 'Set an environment variable' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l unsetenv -d 'Unset an environment variable' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l cap-add -d 'Keep capability CAP (or ALL)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l cap-drop -d 'Drop capability CAP (or ALL)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l uid -d 'The program\'s uid in the new user namespace' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l gid -d 'The program\'s gid in the new user namespace' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l chdir -d 'Working directory in the sandbox' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l argv0 -d 'The program\'s argv[0]' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l rlimit -d 'Set a resource limit (prlimit\'s names; repeatable)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l seccomp -d 'Install the compiled BPF program read from FD before exec' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l add-seccomp-fd -d 'Add a compiled BPF program read from FD (repeatable)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l userns -d 'Create the sandbox inside this existing user namespace' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l userns2 -d 'Switch to this user namespace after the setup' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l pidns -d 'Create the sandbox inside this existing pid namespace' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l info-fd -d 'Write the program\'s pid and namespaces as JSON to FD' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l block-fd -d 'Block the program before exec until FD yields a byte or EOF' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l userns-block-fd -d 'Block the child before its setup until FD yields a byte or EOF' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l sync-fd -d 'Keep FD open (in xclone, not the program) while the sandbox runs' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l kill-child -d 'Kill the program with SIG (default SIGKILL) when xclone dies (PR_SET_PDEATHSIG)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -s w -l wd -d 'Working directory of the program (inside --root when given)' -r -F
complete -c xclone -n "__fish_xclone_using_subcommand run" -s S -l setuid -d 'The program\'s uid: a number or a user name (in the new user namespace with -U)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -s G -l setgid -d 'The program\'s gid: a number or a group name; drops supplementary groups where allowed, as unshare' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l env -d 'Set an environment variable for the program (repeatable)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l fd-map -d 'Make xclone\'s descriptor PARENT appear as CHILD in the program (repeatable)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l json-status-fd -d 'Write JSON Lines to descriptor FD: {"child-pid": …} once the program exists, and {"exit-code": …} or {"signal": …} when it ends (under --unshare-pid\'s init, as bwrap: {"exit-code": 128+N} for a signal N)' -r
complete -c xclone -n "__fish_xclone_using_subcommand run" -l clear-sighand -d 'Reset the child\'s signal handlers to their defaults (CLONE_CLEAR_SIGHAND)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -s r -l map-root-user -d 'Map your effective uid and gid to root in the new user namespace (implies -U and --setgroups deny)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -s c -l map-current-user -d 'Map your effective uid and gid to the same ids inside (implies -U and --setgroups deny)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l map-auto -d 'Map your first /etc/subuid and /etc/subgid ranges to ids from 0 (--map-users=auto --map-groups=auto; implies -U and --setgroups allow)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l map-subids -d 'Map your first /etc/subuid and /etc/subgid ranges onto themselves (implies -U and --setgroups allow)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l keep-caps -d 'Keep the capabilities the program holds in its new user namespace across exec, as unshare --keep-caps: last before exec the inheritable set takes the permitted set and every effective capability is raised into the ambient set. Without a new user namespace it does nothing (as unshare)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l pivot-root -d 'Change root with pivot_root(2) and detach the old root (needs --root; implies -m)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l init -d 'Run a tiny init as PID 1 of the new pid namespace (needs -p): it forwards signals to the program and reaps orphans. Without it the program is PID 1 and ignores signals it has no handler for (SIGINT, SIGTERM...)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l no-new-privs -d 'Set no_new_privs on the program (CLONE_NNP where the kernel has it, else prctl in the child before exec)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l autoreap -d 'The kernel reaps the child itself (CLONE_AUTOREAP, Linux 7.1; exit signal 0)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l pidfd-autokill -d 'Kill the child when xclone\'s pidfd closes (CLONE_PIDFD_AUTOKILL, Linux 7.1; implies --autoreap)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l empty-mount-ns -d 'A new, empty mount namespace (CLONE_EMPTY_MNTNS, Linux 7.1)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l clearenv -d 'Unset every environment variable (except PWD)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l unshare-all -d 'Unshare every namespace (user, ipc, pid, net with lo up, uts, cgroup)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l share-net -d 'With --unshare-all: keep the network namespace'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l unshare-user -d 'New user namespace (own ids mapped as bubblewrap does)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l unshare-ipc -d 'New IPC namespace'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l unshare-pid -d 'New pid namespace: the program runs as PID 2 under an init of xclone\'s (PID 1)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l as-pid-1 -d 'With --unshare-pid: no init, the program itself is PID 1'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l unshare-net -d 'New network namespace, its loopback interface up (127.0.0.1, ::1)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l unshare-uts -d 'New UTS namespace'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l unshare-cgroup -d 'New cgroup namespace'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l new-session -d 'Start a new session (setsid): the terminal cannot be fed input (TIOCSTI)'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l die-with-parent -d 'Kill the program (SIGKILL) when xclone dies'
complete -c xclone -n "__fish_xclone_using_subcommand run" -s f -l fork -d 'Accepted for unshare\'s sake: xclone always creates the program as a new child'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l no-fallback -d 'Never fall back to clone(2) where clone3 is missing or filtered'
complete -c xclone -n "__fish_xclone_using_subcommand run" -l dry-run -d 'Print the clone_args that would be passed and the validator\'s verdict; run nothing'
complete -c xclone -n "__fish_xclone_using_subcommand run" -s h -l help -d 'Print help'
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s t -l target -d 'The target process (not needed when every namespace is given as a FILE)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -l target-pidfd -d 'The target as a pidfd xclone inherited at this descriptor number (no PID-reuse race)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s m -l mount -d 'The mount namespace: the target\'s, or the one FILE names (as every option below)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s u -l uts -d 'The UTS namespace (hostname)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s i -l ipc -d 'The IPC namespace' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s n -l net -d 'The network namespace (e.g. --net=/run/netns/NAME, made by `ip netns add NAME`)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s p -l pid -d 'The pid namespace (the program is born in it)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s U -l user -d 'The user namespace (the program becomes uid/gid 0 of it unless --preserve-credentials)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s C -l cgroup -d 'The cgroup namespace' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s T -l time -d 'The time namespace: the program reads the target\'s CLOCK_MONOTONIC and CLOCK_BOOTTIME (its offsets) from its first instruction' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -l into-cgroup -d 'Create the program in this cgroup2 directory' -r -F
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s S -l setuid -d 'The program\'s uid: a number or a user name (after joining a user namespace: in it)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s G -l setgid -d 'The program\'s gid: a number or a group name' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s r -l root -d 'The root directory: DIR, or the target\'s when DIR is omitted (-r, --root)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s w -l wd -d 'The working directory: DIR, or the target\'s when DIR is omitted (-w, --wd)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s W -l wdns -d 'The working directory DIR, looked up after joining the namespaces (in the entered mount namespace and root)' -r -F
complete -c xclone -n "__fish_xclone_using_subcommand enter" -l env-set -d 'Set an environment variable for the program (repeatable)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -l kill-child -d 'Kill the program with SIG (default SIGKILL) when xclone dies (PR_SET_PDEATHSIG)' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -l json-status-fd -d 'Write JSON Lines to descriptor FD: {"child-pid": …, "ns-pids": [outermost … innermost]} once the program exists, {"exit-code": …} or {"signal": …} when it ends, and {"error": {"step": …, "errno": …}} when it could not be started' -r
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s a -l all -d 'Every namespace of the target that differs from xclone\'s'
complete -c xclone -n "__fish_xclone_using_subcommand enter" -l user-parent -d 'Join the parent of that user namespace instead (implies -U)'
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s c -l cgroup-of-target -l join-cgroup -d 'Create the program in the target\'s cgroup, or fail with the reason (the default does so where the system and xclone\'s permissions allow it, else leaves it in xclone\'s)'
complete -c xclone -n "__fish_xclone_using_subcommand enter" -l cgroup-of-caller -d 'Leave the program in xclone\'s cgroup (as nsenter without --join-cgroup)'
complete -c xclone -n "__fish_xclone_using_subcommand enter" -l preserve-credentials -d 'Keep xclone\'s uid, gid and groups when joining a user namespace'
complete -c xclone -n "__fish_xclone_using_subcommand enter" -l keep-caps -d 'Keep the capabilities the program holds in the joined user namespace across exec, as nsenter --keep-caps (util-linux 2.39): last before exec the inheritable set takes the permitted set and every effective capability is raised into the ambient set. Without a user namespace to join it does nothing (as nsenter)'
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s e -l env -l env-of-target -d 'Start from the target\'s environment instead of xclone\'s (nsenter -e)'
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s F -l no-fork -d 'nsenter\'s "exec without forking": refused, see --help'
complete -c xclone -n "__fish_xclone_using_subcommand enter" -s h -l help -d 'Print help'
complete -c xclone -n "__fish_xclone_using_subcommand __init" -s h -l help -d 'Print help'
complete -c xclone -n "__fish_xclone_using_subcommand __generate" -s h -l help -d 'Print help'
complete -c xclone -n "__fish_xclone_using_subcommand help; and not __fish_seen_subcommand_from probe explain restore tree run enter __init __generate help" -f -a "probe" -d 'Show what this kernel and these privileges offer (creates nothing)'
complete -c xclone -n "__fish_xclone_using_subcommand help; and not __fish_seen_subcommand_from probe explain restore tree run enter __init __generate help" -f -a "explain" -d 'Say whether the kernel would accept a clone request, and why not (creates nothing)'
complete -c xclone -n "__fish_xclone_using_subcommand help; and not __fish_seen_subcommand_from probe explain restore tree run enter __init __generate help" -f -a "restore" -d 'Create a process tree with the exact PIDs (every pid-namespace level), parents, sessions and groups a manifest gives; waits for its root'
complete -c xclone -n "__fish_xclone_using_subcommand help; and not __fish_seen_subcommand_from probe explain restore tree run enter __init __generate help" -f -a "tree" -d 'Print the manifest of a running process tree (--json for `restore`)'
complete -c xclone -n "__fish_xclone_using_subcommand help; and not __fish_seen_subcommand_from probe explain restore tree run enter __init __generate help" -f -a "run" -d 'Run a program as a child made with clone3 and exit with its status'
complete -c xclone -n "__fish_xclone_using_subcommand help; and not __fish_seen_subcommand_from probe explain restore tree run enter __init __generate help" -f -a "enter" -d 'Run a program inside a running process\'s namespaces and cgroup, as a child of xclone (nsenter\'s options; the target pinned by a pidfd)'
complete -c xclone -n "__fish_xclone_using_subcommand help; and not __fish_seen_subcommand_from probe explain restore tree run enter __init __generate help" -f -a "__init" -d 'PID 1 for `run --init`: runs the program, forwards signals, reaps orphans'
complete -c xclone -n "__fish_xclone_using_subcommand help; and not __fish_seen_subcommand_from probe explain restore tree run enter __init __generate help" -f -a "__generate" -d 'Writes the man pages and shell completions into DIR (see docs/install.md)'
complete -c xclone -n "__fish_xclone_using_subcommand help; and not __fish_seen_subcommand_from probe explain restore tree run enter __init __generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
