/* The build's TeX renderer (attnviz/mkdocs/maths.py runs it with node): the path of KaTeX's
   katex.js as the one argument; one JSON request per line on stdin, {tex, display}; one JSON
   answer per line on stdout, {html}. A formula KaTeX cannot parse is drawn in red with its error
   as a title (throwOnError: false), as the browser would draw it. */
const katex = require(process.argv[2]);
const readline = require("readline");

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const { tex, display } = JSON.parse(line);
  const html = katex.renderToString(tex, { displayMode: display, throwOnError: false });
  process.stdout.write(JSON.stringify({ html }) + "\n");
});
