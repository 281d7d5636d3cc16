/**
 * The remote-evaluation answer `{"flag":{variant},…}` as UTF-8 bytes, copied together from
 * each outcome's fragment (`"flag":{variant}`, encoded on the outcome's first serving and
 * kept on it): a request allocates the answer's bytes and nothing per flag. Building it as
 * a string instead (stringify each key, join, then the runtime's UTF-8 copy) made two
 * copies of the body per request, the largest allocations of the request path
 * (docs/architecture.md, "How evaluation stays fast").
 */
import { fragmentHolderOf, type Outcome } from "./compile.js";

const utf8 = new TextEncoder();
const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const COMMA = 0x2c; // ,

/** `"flagKey":{variant JSON}` as UTF-8, made once per outcome. */
export function fragmentOf(outcome: Outcome): Uint8Array {
  const holder = fragmentHolderOf(outcome);
  let bytes = holder.bytes;
  if (bytes === undefined)
    holder.bytes = bytes = utf8.encode(`${JSON.stringify(outcome.flagKey)}:${JSON.stringify(outcome.variant)}`);
  return bytes;
}

/** The outcomes as one JSON object of variants by flag key, in their order. */
export function servedJson(outcomes: readonly Outcome[]): Uint8Array<ArrayBuffer> {
  let length = 2 + Math.max(0, outcomes.length - 1);
  for (let i = 0; i < outcomes.length; i++) length += fragmentOf(outcomes[i]!).length;
  const body = new Uint8Array(length);
  body[0] = OPEN;
  let at = 1;
  for (let i = 0; i < outcomes.length; i++) {
    if (i > 0) body[at++] = COMMA;
    const fragment = fragmentOf(outcomes[i]!);
    body.set(fragment, at);
    at += fragment.length;
  }
  body[at] = CLOSE;
  return body;
}
