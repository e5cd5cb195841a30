//! Where a new site is written before it is swapped in:
//! `.NAME.tmp-PID/site-TIME` beside the output, inside a directory that asks
//! the file system to place what is made in it away from the previous
//! site.
//!
//! Why: ext4 without a journal (the project's benchmark machine; many
//! VMs and containers) will not reuse an inode freed in the last few
//! seconds (minutes while its inode table block is unwritten), and learns
//! it by reading every such free inode, in order, for each file it
//! creates. A clean build right after `rm -rf public`, or any build after
//! the previous site was removed, creates its files in the block group of
//! the files just deleted, so each creation walks all of them: quadratic,
//! 3 s of kernel time for 5000 pages (`recently_deleted` in a profile).
//! Marking the staging directory as the top of a directory tree
//! (`chattr +T`, `FS_TOPDIR_FL`) makes ext4's Orlov allocator put the
//! directory made inside it in a group of its own, where creating files is
//! cheap again (0.4 s). File systems without the flag ignore it.

use std::path::{Path, PathBuf};

/// Creates the staging directory `tmp` (which must not exist) and returns
/// the root of the new tree inside it, not yet created. Its name differs
/// from build to build: ext4 picks the group of a directory made under a
/// top directory from a hash of its name, and the same name would pick
/// the group of the previous site again.
pub(super) fn create(tmp: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir(tmp)?;
    mark_top(tmp);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Ok(tmp.join(format!("site-{nanos}")))
}

/// Sets `FS_TOPDIR_FL` on `dir`, if the file system has it; the site is
/// the same without it, only slower to write.
#[cfg(target_os = "linux")]
fn mark_top(dir: &Path) {
    use std::os::fd::AsRawFd;
    const FS_TOPDIR_FL: libc::c_int = 0x0002_0000;
    let Ok(f) = std::fs::File::open(dir) else {
        return;
    };
    let fd = f.as_raw_fd();
    let mut flags: libc::c_int = 0;
    // SAFETY: `fd` is an open directory for the duration of both calls;
    // the kernel reads and writes one int through the pointer, which
    // points to a live `c_int`.
    unsafe {
        if libc::ioctl(fd, libc::FS_IOC_GETFLAGS, &mut flags as *mut libc::c_int) != 0 {
            return;
        }
        flags |= FS_TOPDIR_FL;
        libc::ioctl(fd, libc::FS_IOC_SETFLAGS, &flags as *const libc::c_int);
    }
}

#[cfg(not(target_os = "linux"))]
fn mark_top(_: &Path) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn flags(dir: &Path) -> Option<libc::c_int> {
        let f = std::fs::File::open(dir).unwrap();
        let mut flags: libc::c_int = 0;
        // SAFETY: as in `mark_top`.
        let r = unsafe {
            libc::ioctl(
                f.as_raw_fd(),
                libc::FS_IOC_GETFLAGS,
                &mut flags as *mut libc::c_int,
            )
        };
        (r == 0).then_some(flags)
    }

    fn is_ext4(dir: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path and a zeroed statfs the call fills in.
        let mut s: libc::statfs = unsafe { std::mem::zeroed() };
        (unsafe { libc::statfs(c.as_ptr(), &mut s) } == 0) && s.f_type == 0xEF53
    }

    #[test]
    fn the_staging_directory_is_a_top_directory_with_a_fresh_root_inside() {
        let t = tempfile::tempdir().unwrap();
        let tmp = t.path().join(".public.tmp-1");
        let root = create(&tmp).unwrap();
        assert_eq!(root.parent(), Some(tmp.as_path()));
        assert!(!root.exists(), "the root is the tree writer's to make");
        std::fs::remove_dir(&tmp).unwrap();
        let again = create(&tmp).unwrap();
        assert_ne!(again, root, "a new name each build");
        if is_ext4(t.path()) {
            let f = flags(&tmp).expect("ext4 answers FS_IOC_GETFLAGS");
            assert_ne!(f & 0x0002_0000, 0, "FS_TOPDIR_FL set: {f:#x}");
        } else {
            eprintln!("not ext4: the flag is not checked");
        }
    }
}
