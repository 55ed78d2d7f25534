use gazette::render::Renderer;

use crate::render::fixtures;

#[test]
fn fixture_issue_for_a_named_subscriber() {
    let r = Renderer::new(None).unwrap();
    let out = r
        .render(&fixtures::issue(), Some(&fixtures::ada()))
        .unwrap();
    assert_eq!(out.dropped, 0);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/preview");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("issue.html"), &out.html).unwrap();
    std::fs::write(dir.join("issue.txt"), &out.text).unwrap();
    std::fs::write(dir.join("issue.md"), &out.markdown).unwrap();
    insta::assert_snapshot!("issue_html", out.html);
    insta::assert_snapshot!("issue_text", out.text);
    insta::assert_snapshot!("issue_markdown", out.markdown);
}
