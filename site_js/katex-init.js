/* Render the formulas that pymdownx.arithmatex marks up, with the KaTeX the site serves itself. */
document.querySelectorAll(".arithmatex").forEach((node) => {
  const tex = node.textContent.trim();
  const display = tex.startsWith("\\[");
  const body = tex.replace(/^\\[[(]/, "").replace(/\\[\])]$/, "");
  try {
    katex.render(body, node, { displayMode: display, throwOnError: false });
  } catch (err) {
    node.title = String(err);
  }
});
