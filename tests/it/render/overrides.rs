use std::path::PathBuf;

use gazette::render::Renderer;

use crate::render::fixtures;

/// A fresh, empty folder under the target directory for one test.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("templates-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn one_file_overrides_one_builtin() {
    let dir = scratch_dir("override");
    std::fs::write(
        dir.join("_footer.html"),
        "<tr><td class=\"footer\">Custom footer for {{ newsletter.name }} &amp; friends</td></tr>\n",
    )
    .unwrap();
    let renderer = Renderer::new(Some(&dir)).unwrap();
    let out = renderer
        .render(&fixtures::issue(), Some(&fixtures::ada()))
        .unwrap();
    assert!(out
        .html
        .contains("Custom footer for Policy Wire &amp; friends"));
    assert!(
        out.html.contains("class=\"headline\""),
        "the other templates stay built-in"
    );
    assert!(!out.html.contains("You are receiving"));
    assert!(
        out.text.contains("You are receiving"),
        "digest.txt is untouched"
    );
}

#[test]
fn syntax_error_names_file_and_line() {
    let dir = scratch_dir("syntax");
    std::fs::write(
        dir.join("digest.txt"),
        "Hello\n{{ newsletter.name }}\n{% if %}\n{% endif %}\n",
    )
    .unwrap();
    let err = format!("{:#}", Renderer::new(Some(&dir)).err().unwrap());
    eprintln!("{err}");
    assert!(
        err.contains(&dir.join("digest.txt").display().to_string()),
        "{err}"
    );
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn render_error_names_file_line_and_variable() {
    let dir = scratch_dir("render");
    let story = gazette::render::Renderer::builtin_templates()
        .iter()
        .find(|(n, _)| *n == "_story.html")
        .unwrap()
        .1
        .replace("{{ story.source }}", "{{ story.sorce }}");
    let line = story
        .lines()
        .position(|l| l.contains("story.sorce"))
        .unwrap()
        + 1;
    std::fs::write(dir.join("_story.html"), story).unwrap();
    let renderer = Renderer::new(Some(&dir)).unwrap();
    let err = format!(
        "{:#}",
        renderer.render(&fixtures::issue(), None).err().unwrap()
    );
    eprintln!("{err}");
    assert!(err.contains("story.sorce"), "{err}");
    assert!(
        err.contains(&dir.join("_story.html").display().to_string()),
        "{err}"
    );
    assert!(err.contains(&format!("line {line}")), "{err}");
}

#[test]
fn builtin_templates_only_mark_sanitized_fields_safe() {
    let names: Vec<&str> = Renderer::builtin_templates()
        .iter()
        .map(|(n, _)| *n)
        .collect();
    for required in [
        "digest.html",
        "digest.txt",
        "digest.md",
        "confirm.html",
        "confirm.txt",
        "README.md",
    ] {
        assert!(names.contains(&required), "{required} missing");
    }
    for (name, src) in Renderer::builtin_templates() {
        if name.ends_with(".md") && *name != "digest.md" {
            continue; // documentation
        }
        for (i, line) in src.lines().enumerate() {
            let mut rest = line;
            while let Some(pos) = rest.find("| safe") {
                let before = &rest[..pos];
                let var = before.rsplit("{{").next().unwrap().trim();
                assert!(
                    ["story.lead_html", "intro_html"].contains(&var),
                    "{name}:{}: `| safe` on {var}",
                    i + 1
                );
                assert!(
                    rest[pos + 6..].trim_start().starts_with("}}"),
                    "{name}:{}: safe must be last",
                    i + 1
                );
                rest = &rest[pos + 6..];
            }
        }
    }
}
