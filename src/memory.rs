//! Keeping an idle daemon small: glibc's allocator keeps what a program frees for reuse, in one
//! arena per thread that ever allocated. A daemon that rendered every template at start-up or
//! decoded a burst of attachments would keep that peak resident for the hours it then waits for
//! the next mail. Other allocators and platforms need none of this, and get no-ops.

/// Hand the free pages of every arena back to the operating system; call when a burst of work
/// is over (start-up done, an intake pass that handled mail). Takes well under a millisecond.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` works on glibc's own allocator state under its own locks; it has no
    // preconditions and may be called from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// At most two malloc arenas (glibc's default is eight per core): the daemon's threads are few
/// and mostly waiting, and every extra arena keeps its own free memory. Call before any thread
/// is started.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets an allocator parameter; called at start, before other threads.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
