// What each workflow asks of the operator for one line, step by step. The server decides whether
// the scans are right (POST /tasks/<id>/lines/<n>/confirm refuses a wrong bin or item with its
// reason); these steps only decide what to prompt for next and what to send.
//
// Step kinds: "location" (scan a bin label), "item" (scan the item or a GS1 label), "lot" (lot and
// expiry, typed or from the GS1 label), "quantity", "grade" (returns).

export const WORKFLOW_ORDER = ["receiving", "putaway", "picking", "packing", "counting", "returns"];

// Which bin a line's bin scan must match: where the goods go (receiving dock, putaway target) or
// where they are (pick bin, count bin, returns bay, pack station).
export function binOf(workflow, line) {
  return workflow === "receiving" || workflow === "putaway" ? line.to_location : line.location;
}

export function stepsFor(workflow, line, item) {
  const bin = { kind: "location", bin: binOf(workflow, line) };
  const scanItem = { kind: "item" };
  const quantity = { kind: "quantity" };
  const needsLot = item && (item.tracking !== "none" || item.expiry_tracked);
  switch (workflow) {
    case "receiving":
      return [bin, scanItem, ...(needsLot ? [{ kind: "lot" }] : []), quantity];
    case "putaway":
      return [scanItem, bin, quantity]; // take the goods first, then the suggested bin proves where they went
    case "picking":
    case "packing":
      return [bin, scanItem, quantity];
    case "counting":
      return line.sku ? [bin, scanItem, quantity] : [bin, quantity]; // an empty bin: just confirm it is empty
    case "returns":
      return [bin, scanItem, ...(needsLot ? [{ kind: "lot" }] : []), quantity, { kind: "grade" }];
    default:
      return [bin, scanItem, quantity];
  }
}

// Who may see the expected quantity. Counters count blind (the server hides it anyway), and a
// verifier must never be steered by a number: verification is blind for every workflow.
export function showsExpected(workflow, mode) {
  return mode === "work" && workflow !== "counting";
}

// Pickers and put-away operators move a known quantity: start from it and let them correct it.
// Everyone else starts from nothing and counts.
export function prefilledQuantity(workflow, mode, line) {
  if (mode !== "work") return null;
  if (["putaway", "picking", "packing"].includes(workflow)) return line.expected_quantity;
  return null;
}

// "Bin is empty" / "nothing arrived": confirming 0 with only the bin scanned.
export function allowsZeroWithoutItem(workflow, line) {
  if (workflow === "counting") return Boolean(line.sku);
  return workflow === "picking" || workflow === "returns";
}

// An item scan that does not match this line but another open line of a receipt or count may be
// goods nobody announced or a find: those workflows let the operator add a line for it.
export function addsUnexpectedLines(workflow) {
  return workflow === "receiving" || workflow === "counting";
}

export const GRADES = ["resellable", "damaged", "defective", "wrong_item"];
