//! Slow end-to-end test: the rendered issue in real headless Chromium at phone and desktop
//! widths. Checks there is no horizontal scrolling and saves screenshots for a person to look
//! at under `target/screenshots/`. Skips when Chromium is missing unless
//! `GAZETTE_REQUIRE_BROWSER=1`.

#[path = "../it/render/fixtures.rs"]
mod fixtures;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gazette::render::Renderer;

const WIDTHS: [u32; 2] = [375, 800];

fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["chromium", "chromium-browser", "google-chrome"].map(PathBuf::from));
    for c in candidates {
        let ok = Command::new(&c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(c);
        }
    }
    None
}

/// Serves `/issue.html`, `/wide.html` and `/frame-{page}-{width}.html` (a same-origin wrapper that measures the
/// issue inside a fixed-width iframe) on 127.0.0.1; returns the base URL.
fn serve(issue_html: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issue_html = Arc::new(issue_html);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let html = Arc::clone(&issue_html);
            std::thread::spawn(move || answer(stream, &html));
        }
    });
    base
}

fn answer(mut stream: TcpStream, issue_html: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = if path == "/issue.html" {
        ("200 OK", issue_html.to_string())
    } else if path == "/wide.html" {
        ("200 OK", WIDE_PAGE.to_string())
    } else if let Some((page, width)) = path
        .strip_prefix("/frame-")
        .and_then(|p| p.strip_suffix(".html"))
        .and_then(|p| p.split_once('-'))
        .and_then(|(page, w)| Some((page, w.parse::<u32>().ok()?)))
    {
        ("200 OK", frame_page(page, width))
    } else {
        ("404 Not Found", "not found".to_string())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

/// A page that does scroll sideways on a phone: proves the measurement can fail.
const WIDE_PAGE: &str =
    "<!DOCTYPE html><html><body><div style=\"width:900px\">wide</div></body></html>";

fn frame_page(page: &str, width: u32) -> String {
    format!(
        r#"<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="/{page}.html" style="width:{width}px;height:6000px;border:0"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {{
  var doc = this.contentDocument, root = doc.documentElement;
  var out = document.createElement('pre');
  out.id = 'result';
  // The marker is split so the script's own text never matches it in the dumped DOM.
  out.textContent = 'MEAS' + 'URED scroll=' + Math.max(root.scrollWidth, doc.body.scrollWidth) +
    ' client=' + root.clientWidth + ' height=' + Math.ceil(doc.body.getBoundingClientRect().height) + ' ' + 'END';
  document.body.appendChild(out);
}});
</script></body></html>"#
    )
}

/// Runs Chromium headless with `args`, killing it after a minute.
fn run_chromium(bin: &Path, args: &[String]) -> String {
    let profile = std::env::temp_dir().join(format!("gazette-chromium-{}", std::process::id()));
    let mut child = Command::new(bin)
        .args(crate::support::CHROMIUM_FLAGS)
        .arg("--hide-scrollbars")
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    out
}

/// `(scroll width, client width, content height)` of `/{page}.html` in an iframe `width` px wide.
fn measure(bin: &Path, base: &str, page: &str, width: u32) -> (u32, u32, u32) {
    let dom = run_chromium(
        bin,
        &[
            "--dump-dom".into(),
            "--virtual-time-budget=10000".into(),
            format!("{base}/frame-{page}-{width}.html"),
        ],
    );
    let result = dom
        .split("MEASURED ")
        .nth(1)
        .and_then(|r| r.split(" END").next())
        .unwrap_or_else(|| panic!("no measurement in the DOM at {width}px:\n{dom}"));
    let value = |key: &str| -> u32 {
        result
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} missing in {result}"))
    };
    (value("scroll"), value("client"), value("height"))
}

#[test]
fn issue_fits_phone_and_desktop_without_horizontal_scrolling() {
    let Some(bin) = chromium() else {
        if std::env::var("GAZETTE_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("chromium not found and GAZETTE_REQUIRE_BROWSER=1");
        }
        eprintln!("SKIPPED: chromium not installed (apt-get install chromium); set GAZETTE_REQUIRE_BROWSER=1 to fail instead");
        return;
    };
    let out = Renderer::new(None)
        .unwrap()
        .render(&fixtures::issue(), Some(&fixtures::ada()))
        .unwrap();
    let base = serve(out.html);
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let (scroll, client, _) = measure(&bin, &base, "wide", 375);
    assert!(
        scroll > client,
        "the harness must see a page that does scroll ({scroll} vs {client})"
    );
    for width in WIDTHS {
        let (scroll, client, height) = measure(&bin, &base, "issue", width);
        eprintln!("{width}px: content {scroll}px wide, viewport {client}px, {height}px tall");
        assert!(
            client > 0 && height > 500,
            "issue did not load at {width}px"
        );
        assert!(
            scroll <= client,
            "horizontal scrolling at {width}px: content {scroll}px wide in a {client}px viewport"
        );
        for (suffix, extra) in [("", None), ("-dark", Some("--force-dark-mode"))] {
            let path = shots.join(format!("issue-{width}{suffix}.png"));
            let _ = std::fs::remove_file(&path);
            let mut args = vec![
                format!("--window-size={width},{}", height + 20),
                format!("--screenshot={}", path.display()),
                format!("{base}/issue.html"),
            ];
            args.extend(extra.map(String::from));
            run_chromium(&bin, &args);
            assert!(path.is_file(), "no screenshot at {}", path.display());
            eprintln!("screenshot: {}", path.display());
        }
    }
}
