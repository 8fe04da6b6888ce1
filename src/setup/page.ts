// The setup pages. Every interpolated value is HTML-escaped: the manifest holds the base URL,
// which comes from the request's Host header.
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const layout = (title: string, body: string) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem}code{background:#eee;padding:0 .2em}button{font-size:1rem;padding:.5rem 1rem}</style>
</head><body>
${body}
</body></html>
`;

export function setupPage(o: { name: string; formAction: string; manifest: string; webhookUrl: string; owner: string }): string {
  return layout(`Register ${o.name}`, `<h1>Register ${esc(o.name)} on GitHub</h1>
<p>This registers a GitHub App from <code>app.yml</code> under ${esc(o.owner)}: its permissions and events, webhooks to
<code>${esc(o.webhookUrl)}</code>. GitHub lets you change the name before you confirm.</p>
<form action="${esc(o.formAction)}" method="post">
<input type="hidden" name="manifest" value="${esc(o.manifest)}">
<button type="submit" id="register">Register the GitHub App</button>
</form>
<p>Afterwards the app's id, private key and webhook secret are written to <code>.env</code> (mode 0600).</p>`);
}

export function donePage(o: { name: string; envPath: string; written: string[]; replaced: string[]; installUrl: string }): string {
  const replaced = o.replaced.length ? `<p><strong>Replaced</strong> earlier values of ${o.replaced.map((k) => `<code>${esc(k)}</code>`).join(", ")}.</p>` : "";
  return layout(`${o.name} registered`, `<h1>${esc(o.name)} is registered</h1>
<p>Wrote ${o.written.map((k) => `<code>${esc(k)}</code>`).join(", ")} to <code>${esc(o.envPath)}</code>.</p>
${replaced}
<ol>
<li>Install the app on your access repository: <a href="${esc(o.installUrl)}">${esc(o.installUrl)}</a></li>
<li>Set <code>JIT_REPOSITORIES</code> in <code>.env</code> to that repository (e.g. <code>acme/access</code>).</li>
<li>Restart the server (<code>npm start</code>): it now starts with the new credentials.</li>
</ol>`);
}

export function messagePage(title: string, text: string): string {
  return layout(title, `<h1>${esc(title)}</h1><p>${esc(text)}</p>`);
}
