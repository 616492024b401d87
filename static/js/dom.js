// The small DOM helper of the tablet's screens (static/room/room.js, static/reader/reader.js,
// static/reader/annotate.js): el("button", { type: "button", className, onclick, "aria-label": … }, …children).
// Attributes whose value is false, null or undefined are left out; true sets an empty attribute; "on…"
// adds a listener; children that are null, undefined or false are skipped, strings become text (never HTML).

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
