//! Just enough terminal handling for a refreshing view, on plain `libc`: the alternate
//! screen, a hidden cursor, unbuffered keys without echo, and the window size. Ctrl-C keeps
//! raising SIGINT (ISIG stays on), so the command's usual signal handling ends the view.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

/// The terminal in "view" state; dropping it restores everything, also on panic.
pub struct Screen {
    saved: Option<libc::termios>,
    keys_stop: Arc<AtomicBool>,
}

impl Screen {
    /// Enters the alternate screen and, when stdin is a terminal, reads keys into the
    /// returned channel (one byte each).
    pub fn enter() -> (Screen, mpsc::UnboundedReceiver<u8>) {
        let (send, keys) = mpsc::unbounded_channel();
        let keys_stop = Arc::new(AtomicBool::new(false));
        let saved = if std::io::stdin().is_terminal() {
            let saved = raw_keys();
            let stop = Arc::clone(&keys_stop);
            std::thread::spawn(move || read_keys(send, stop));
            saved
        } else {
            None
        };
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");
        let _ = out.flush();
        (Screen { saved, keys_stop }, keys)
    }

    /// Replaces the screen's contents with `lines` (already cut to the width).
    pub fn draw(&self, lines: &[String]) {
        let mut frame = String::from("\x1b[H");
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                frame.push_str("\r\n");
            }
            frame.push_str(line);
            frame.push_str("\x1b[K");
        }
        frame.push_str("\x1b[J");
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(frame.as_bytes());
        let _ = out.flush();
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        self.keys_stop.store(true, Ordering::Relaxed);
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x1b[0m\x1b[?25h\x1b[?1049l");
        let _ = out.flush();
        if let Some(saved) = self.saved {
            // SAFETY: restores the attributes read from the same descriptor.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved) };
        }
    }
}

/// Turns off line buffering and echo on stdin; returns the settings to restore.
fn raw_keys() -> Option<libc::termios> {
    // SAFETY: plain termios calls on stdin with structs we own.
    unsafe {
        let mut saved: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(libc::STDIN_FILENO, &mut saved) != 0 {
            return None;
        }
        let mut raw = saved;
        raw.c_lflag &= !(libc::ICANON | libc::ECHO);
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) != 0 {
            return None;
        }
        Some(saved)
    }
}

/// Reads stdin until `stop`, polling so that the thread notices `stop` within 100 ms.
fn read_keys(send: mpsc::UnboundedSender<u8>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let mut poll = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd we own.
        let ready = unsafe { libc::poll(&mut poll, 1, 100) };
        if ready <= 0 || stop.load(Ordering::Relaxed) {
            continue;
        }
        let mut byte = [0u8; 1];
        // SAFETY: reads at most one byte into our buffer.
        let n = unsafe { libc::read(libc::STDIN_FILENO, byte.as_mut_ptr().cast(), 1) };
        if n <= 0 || send.send(byte[0]).is_err() {
            return;
        }
    }
}

/// Columns and rows of the terminal on stdout, or 120 × 40 when it cannot tell.
pub fn size() -> (usize, usize) {
    // SAFETY: TIOCGWINSZ fills the winsize we pass.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 && size.ws_row > 0 {
        (usize::from(size.ws_col), usize::from(size.ws_row))
    } else {
        (120, 40)
    }
}
