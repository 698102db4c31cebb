// A tiny element builder. Screens are built from data the server sent (names, codes, problem
// details), so text always goes in as text nodes, never as HTML.

export function h(tag, attributes = {}, ...children) {
  // "button#confirm.big.primary": tag, optional id, classes.
  const [head, ...classes] = tag.split(".");
  const [name, id] = head.split("#");
  const element = document.createElement(name || "div");
  if (id) element.id = id;
  if (classes.length) element.className = classes.join(" ");
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key === "text") element.textContent = value;
    else if (key === "className") element.className = `${element.className} ${value}`.trim();
    else if (value === true) element.setAttribute(key, "");
    else element.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function replace(container, ...children) {
  container.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}
