//! Before the first clone: the system checks that make a restore refusable without creating
//! anything, and the preparation of everything the tree processes will need (they must not
//! allocate).

use super::check::CheckedTree;
use super::manifest::{Manifest, ProcessSpec};
use super::tree_side::NodePlan;
use super::{Failure, ProcessRef, RestoreError, Step};
use crate::caller::{CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN};
use crate::errno::Errno;
use crate::sys::cstr_array::CStrArray;
use crate::sys::flags::CloneFlags;
use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

pub(super) fn refused(
    m: &Manifest,
    i: usize,
    step: Step,
    errno: Errno,
    msg: String,
) -> RestoreError {
    RestoreError::Refused(Failure {
        process: Some(ProcessRef::new(m, i)),
        level: None,
        step,
        errno: Some(errno),
        message: msg,
    })
}

pub(super) fn precheck_system(m: &Manifest) -> Result<(), RestoreError> {
    let general = |errno: Errno, msg: String| {
        RestoreError::Refused(Failure::general(Step::Precheck, Some(errno), msg))
    };
    let me = rustix::process::getpid().as_raw_nonzero().get();
    match std::fs::read_link("/proc/self") {
        Ok(p) if p == Path::new(&me.to_string()) => {}
        _ => {
            return Err(general(
                Errno::EINVAL,
                "/proc is not the procfs of this process's pid namespace; mount one \
                 (mount -t proc proc /proc) in a mount namespace of your own"
                    .into(),
            ))
        }
    }
    let ns = std::fs::read_link("/proc/self/ns/pid").ok();
    let for_children = std::fs::read_link("/proc/self/ns/pid_for_children").ok();
    if ns.is_some() && for_children.is_some() && ns != for_children {
        return Err(general(
            Errno::EINVAL,
            "this process's children would go to another pid namespace (after \
             unshare(CLONE_NEWPID) or setns); the manifest's PIDs count from the restorer's own"
                .into(),
        ));
    }
    let caps = read_cap_eff().unwrap_or(0);
    let has = |c: u32| caps & (1u64 << c) != 0;
    if !has(CAP_SYS_ADMIN) && !has(CAP_CHECKPOINT_RESTORE) {
        return Err(general(
            Errno::EPERM,
            "choosing PIDs (clone3 set_tid) needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN; \
             run as root or grant CAP_CHECKPOINT_RESTORE (setcap cap_checkpoint_restore+ep)"
                .into(),
        ));
    }
    if let Some(i) = m.processes.iter().position(|p| p.new_pid_ns) {
        if !has(CAP_SYS_ADMIN) {
            return Err(refused(
                m,
                i,
                Step::Precheck,
                Errno::EPERM,
                "starts a pid namespace, which needs CAP_SYS_ADMIN (CLONE_NEWPID); \
                 CAP_CHECKPOINT_RESTORE only covers choosing PIDs"
                    .into(),
            ));
        }
    }
    for (i, p) in m.processes.iter().enumerate() {
        let pid = p.pids[0];
        if let Some(holder) = pid_holder(pid) {
            return Err(RestoreError::Refused(Failure {
                process: Some(ProcessRef::new(m, i)),
                level: Some(0),
                step: Step::Precheck,
                errno: Some(Errno::EEXIST),
                message: format!(
                    "PID {pid} is taken in the restorer's pid namespace (by {holder}); choose \
                     a free PID or end that process"
                ),
            }));
        }
    }
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let need = m.processes.len() as u64 + 64;
    if nofile < need {
        return Err(general(
            Errno::EMFILE,
            format!(
                "the restorer keeps a pidfd per process: {} processes need about {need} file \
                 descriptors, but RLIMIT_NOFILE is {nofile}; raise it (ulimit -n)",
                m.processes.len()
            ),
        ));
    }
    Ok(())
}

/// Who holds a PID in our namespace, if anyone visible does (`/proc/PID` also resolves
/// threads). A PID kept only as the id of a process group or session whose leader is gone
/// stays invisible here; the kernel's `EEXIST` reports it later.
pub(super) fn pid_holder(pid: i32) -> Option<String> {
    let dir = format!("/proc/{pid}");
    if std::fs::symlink_metadata(&dir).is_err() {
        return None;
    }
    let comm = std::fs::read_to_string(format!("{dir}/comm")).unwrap_or_default();
    Some(format!("{:?}", comm.trim_end()))
}

fn read_cap_eff() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

pub(super) fn prepare(m: &Manifest, tree: &CheckedTree) -> Result<Vec<NodePlan>, RestoreError> {
    let restorer_env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv).ok()
        })
        .collect();
    let cwd_now = std::env::current_dir().ok();
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let mut nodes = Vec::with_capacity(m.processes.len());
    type Key<'a> = (&'a str, Option<PathBuf>, Option<Option<&'a String>>);
    let mut resolved: Vec<(Key<'_>, PathBuf)> = Vec::new();
    for (i, (p, c)) in m.processes.iter().zip(&tree.processes).enumerate() {
        let cstr = |s: &str, what: &str| {
            CString::new(s).map_err(|_| {
                refused(
                    m,
                    i,
                    Step::Precheck,
                    Errno::EINVAL,
                    format!("{what} contains a NUL byte"),
                )
            })
        };
        if let Some(dir) = &p.cwd {
            if !Path::new(dir).is_dir() {
                return Err(refused(
                    m,
                    i,
                    Step::Chdir,
                    Errno::ENOENT,
                    format!("working directory {dir:?} is not a directory"),
                ));
            }
        }
        let base = p.cwd.as_ref().map(PathBuf::from).or(cwd_now.clone());
        // Trees run few distinct programs: one look-up per (program, directory, PATH).
        let key = (
            p.program.as_deref().unwrap_or(&p.argv[0]),
            base.clone(),
            p.env
                .as_ref()
                .map(|env| env.iter().find(|e| e.starts_with("PATH="))),
        );
        let path = match resolved.iter().find(|(k, _)| *k == key) {
            Some((_, path)) => path.clone(),
            None => {
                let path = resolve_program(p, base.as_deref())
                    .map_err(|(errno, msg)| refused(m, i, Step::Exec, errno, msg))?;
                resolved.push((key, path.clone()));
                path
            }
        };
        let argv = p
            .argv
            .iter()
            .map(|a| cstr(a, "an argument"))
            .collect::<Result<Vec<_>, _>>()?;
        let envp = match &p.env {
            Some(env) => env
                .iter()
                .map(|e| cstr(e, "an environment entry"))
                .collect::<Result<Vec<_>, _>>()?,
            None => restorer_env.clone(),
        };
        let mut flags = CloneFlags::CLEAR_SIGHAND;
        if p.new_pid_ns {
            flags |= CloneFlags::NEWPID;
        }
        let joins = c
            .children
            .iter()
            .filter_map(|&k| tree.processes[k].join.map(|j| (k, j.child_pid, j.pgid)))
            .collect();
        nodes.push(NodePlan {
            set_tid: p.pids.iter().rev().copied().collect(),
            flags,
            children: c.children.clone(),
            setup: c.setup,
            joins,
            path: CString::new(path.into_os_string().into_vec()).map_err(|_| {
                refused(
                    m,
                    i,
                    Step::Exec,
                    Errno::EINVAL,
                    "program path has a NUL".into(),
                )
            })?,
            argv: CStrArray::from_cstrs(&argv),
            envp: CStrArray::from_cstrs(&envp),
            cwd: p.cwd.as_deref().map(|d| cstr(d, "cwd")).transpose()?,
            ppid: match c.parent {
                _ if p.new_pid_ns => 0,
                None => me,
                Some(parent) => *m.processes[parent].pids.last().unwrap_or(&0),
            },
        });
    }
    Ok(nodes)
}

/// The executable for a process: `program`, else `argv[0]`; a name without `/` is looked up
/// in `PATH` (the manifest's environment's, else the restorer's), relative paths start at
/// the process's working directory.
fn resolve_program(p: &ProcessSpec, base: Option<&Path>) -> Result<PathBuf, (Errno, String)> {
    let name = p.program.as_deref().unwrap_or(&p.argv[0]);
    let absolute = |c: &Path| match base {
        Some(b) if c.is_relative() => b.join(c),
        _ => c.to_path_buf(),
    };
    let usable = |c: &Path| -> Result<(), (Errno, String)> {
        let meta = std::fs::metadata(c).map_err(|e| {
            (
                e.raw_os_error().map(Errno).unwrap_or(Errno::ENOENT),
                format!("program {} cannot be found: {e}", c.display()),
            )
        })?;
        if !meta.is_file() {
            return Err((
                Errno::EACCES,
                format!("program {} is not a regular file", c.display()),
            ));
        }
        rustix::fs::access(c, rustix::fs::Access::EXEC_OK).map_err(|e| {
            (
                e.into(),
                format!("program {} is not executable", c.display()),
            )
        })
    };
    if name.contains('/') {
        let c = absolute(Path::new(name));
        usable(&c)?;
        return Ok(c);
    }
    let path_var: OsString = match &p.env {
        Some(env) => env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .map(OsString::from)
            .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
        None => std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
    };
    let mut last = None;
    for dir in std::env::split_paths(&path_var) {
        let c = absolute(&dir.join(name));
        match usable(&c) {
            Ok(()) => return Ok(c),
            Err(e) if e.0 != Errno::ENOENT => last = Some(e),
            Err(_) => {}
        }
    }
    Err(last.unwrap_or_else(|| {
        (
            Errno::ENOENT,
            format!(
                "program {name:?} is not in PATH ({})",
                path_var.to_string_lossy()
            ),
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: Option<&str>, argv0: &str, env: Option<Vec<&str>>) -> ProcessSpec {
        ProcessSpec {
            id: "p".into(),
            parent: None,
            pids: vec![5],
            new_pid_ns: false,
            sid: None,
            pgid: None,
            program: program.map(Into::into),
            argv: vec![argv0.into()],
            env: env.map(|e| e.into_iter().map(Into::into).collect()),
            cwd: None,
        }
    }

    #[test]
    fn programs_are_resolved_before_anything_runs() {
        let sh = resolve_program(
            &spec(None, "sh", Some(vec!["PATH=/nonexistent:/bin"])),
            None,
        )
        .unwrap();
        assert_eq!(sh, PathBuf::from("/bin/sh"));
        let e =
            resolve_program(&spec(None, "sh", Some(vec!["PATH=/nonexistent"])), None).unwrap_err();
        assert_eq!(e.0, Errno::ENOENT);
        assert!(e.1.contains("not in PATH"), "{}", e.1);
        let e = resolve_program(&spec(Some("/proc/version"), "x", None), None).unwrap_err();
        assert_eq!(e.0, Errno::EACCES);
        let e = resolve_program(&spec(Some("/"), "x", None), None).unwrap_err();
        assert!(e.1.contains("not a regular file"));
        let rel = resolve_program(&spec(Some("./sh"), "x", None), Some(Path::new("/bin"))).unwrap();
        assert_eq!(rel, PathBuf::from("/bin/./sh"));
    }
}
