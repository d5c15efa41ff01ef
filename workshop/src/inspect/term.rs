//! Just enough terminal handling for a refreshing view, on crossterm (Linux, macOS and
//! Windows alike): the alternate screen, a hidden cursor, keys as they are pressed, and the
//! window size.
//!
//! Raw mode turns Ctrl-C into a key instead of a signal (on every system), so the key
//! reader reports it as [`Key::Interrupt`] and the view ends as it does for `q`.

use std::io::{IsTerminal, Write};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{cursor, style, terminal};
use futures_util::StreamExt;

/// A key pressed in the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    /// Ctrl-C (and Ctrl-D): stop, as the signal would outside raw mode.
    Interrupt,
}

/// The terminal in "view" state; dropping it restores everything, also on panic.
pub struct Screen {
    raw: bool,
    /// The terminal's events, while they can be read.
    events: Option<EventStream>,
}

impl Screen {
    /// Enters the alternate screen, and raw mode when stdin is a terminal (without one
    /// there are no keys to read, and Ctrl-C stays a signal).
    pub fn enter() -> Screen {
        let raw = std::io::stdin().is_terminal() && terminal::enable_raw_mode().is_ok();
        let mut out = std::io::stdout();
        let _ = crossterm::execute!(
            out,
            terminal::EnterAlternateScreen,
            cursor::Hide,
            cursor::MoveTo(0, 0),
            terminal::Clear(terminal::ClearType::All)
        );
        let events = raw.then(EventStream::new);
        Screen { raw, events }
    }

    /// The next key the view knows; never, when there are no keys to read.
    pub async fn key(&mut self) -> Key {
        if let Some(events) = &mut self.events {
            while let Some(Ok(event)) = events.next().await {
                if let Some(key) = key_of(&event) {
                    return key;
                }
            }
            self.events = None;
        }
        std::future::pending().await
    }

    /// Replaces the screen's contents with `lines` (already cut to the width).
    pub fn draw(&self, lines: &[String]) {
        let mut out = std::io::stdout().lock();
        let _ = crossterm::queue!(out, cursor::MoveTo(0, 0));
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                // Raw mode: a bare newline would not return to the first column.
                let _ = out.write_all(b"\r\n");
            }
            let _ = crossterm::queue!(
                out,
                style::Print(line),
                terminal::Clear(terminal::ClearType::UntilNewLine)
            );
        }
        let _ = crossterm::queue!(out, terminal::Clear(terminal::ClearType::FromCursorDown));
        let _ = out.flush();
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let mut out = std::io::stdout();
        let _ = crossterm::execute!(
            out,
            style::ResetColor,
            cursor::Show,
            terminal::LeaveAlternateScreen
        );
        if self.raw {
            let _ = terminal::disable_raw_mode();
        }
    }
}

/// The key an event stands for, if it is a key press the view knows.
fn key_of(event: &Event) -> Option<Key> {
    let Event::Key(KeyEvent {
        code: KeyCode::Char(c),
        modifiers,
        kind,
        ..
    }) = event
    else {
        return None;
    };
    // Windows reports releases too; act once per press.
    if *kind == KeyEventKind::Release {
        return None;
    }
    if modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(c, 'c' | 'd').then_some(Key::Interrupt);
    }
    Some(Key::Char(*c))
}

/// Columns and rows of the terminal, or 120 × 40 when it cannot tell.
pub fn size() -> (usize, usize) {
    match terminal::size() {
        Ok((columns, rows)) if columns > 0 && rows > 0 => (usize::from(columns), usize::from(rows)),
        _ => (120, 40),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> Event {
        Event::Key(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn keys_the_view_knows() {
        assert_eq!(
            key_of(&press(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Key::Char('q'))
        );
        assert_eq!(
            key_of(&press(KeyCode::Char('S'), KeyModifiers::SHIFT)),
            Some(Key::Char('S'))
        );
        assert_eq!(
            key_of(&press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Key::Interrupt)
        );
        assert_eq!(
            key_of(&press(KeyCode::Char('x'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(key_of(&press(KeyCode::Enter, KeyModifiers::NONE)), None);
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(key_of(&Event::Key(release)), None);
    }
}
