//! Tests of html-check's reading of Chromium's output.

use std::path::Path;

use super::{console_messages, file_url};

/// Lines as headless Chromium 156 writes them with `--enable-logging=stderr --v=0`.
const STDERR: &str = r#"/usr/bin/chromium: 9: [: 25276194816: unexpected operator
[26293:26322:1207/000949.461165:ERROR:dbus/bus.cc:405] Failed to connect to the bus: Failed to connect to socket /run/dbus/system_bus_socket: No such file or directory
[26334:26334:1207/000949.550431:WARNING:media/gpu/vaapi/vaapi_wrapper.cc:1655] drmGetDevices2() has not found any devices
[26293:26293:1207/000949.682639:ERROR:dbus/object_proxy.cc:572] Failed to call method: org.freedesktop.DBus.NameHasOwner: object_path= /org/freedesktop/DBus: unknown error type:
[26293:26293:1207/000950.411241:INFO:CONSOLE:2] "an error here", source: file:///tmp/hc/bad.html (2)
[26293:26293:1207/000950.411254:INFO:CONSOLE:2] "Uncaught ReferenceError: undefinedFn is not defined", source: file:///tmp/hc/bad.html (2)
[26974:26974:1207/000957.376659:INFO:CONSOLE:3] "Loading the image 'https://example.invalid/x.png' violates the following Content Security Policy directive: "default-src 'none'".", source: file:///tmp/hc/csp.html (3)
[1:1:0101/000000.000000:ERROR:CONSOLE(7)] "old format", source: file:///r.html (7)
13693 bytes written to file /tmp/hc/bad.png"#;

#[test]
fn console_messages_are_the_pages_only() {
    let messages = console_messages(STDERR);
    assert_eq!(messages.len(), 4, "{messages:#?}");
    assert!(messages[0].contains("an error here"));
    assert!(messages[1].contains("Uncaught ReferenceError"));
    assert!(messages[2].contains("Content Security Policy"));
    assert!(messages[3].contains("old format"));
}

#[test]
fn chromiums_own_errors_are_not_console_messages() {
    let own = STDERR
        .lines()
        .filter(|l| l.contains("dbus") || l.contains("vaapi") || l.contains("bytes written"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(console_messages(&own).is_empty());
}

#[test]
fn file_urls_are_percent_encoded() {
    assert_eq!(
        file_url(Path::new("/tmp/a b/report#1.html")).unwrap(),
        "file:///tmp/a%20b/report%231.html"
    );
    assert_eq!(
        file_url(Path::new("/tmp/über.html")).unwrap(),
        "file:///tmp/%C3%BCber.html"
    );
}
