// A stub's status message (stubs/CONTRACT.md, "Status"), posted as a batch
// of one:
//   { id, type: "UPDATE", from: stubURL, resource: stubURL + "/status",
//     body: { value[, reason][, code] } }
import { CborWriter, TEXT } from "./cbor";
import { post } from "./protostub";

// Ids only need to be unique: the stub URL scopes them to this instance and
// the counter orders them.
let statusCounter: u64 = 0;
const writer = new CborWriter();

/** Posts the status; the stub URL is the UTF-8 at (url, urlLen). */
export function postStatus(url: usize, urlLen: usize, value: string, reason: string | null = null, code: string | null = null): void {
  const digits = (++statusCounter).toString();
  const w = writer;
  w.reset();
  w.putArray(1);
  w.putMap(5);
  w.putString("id");
  // "<stubURL>/status#<n>" and "<stubURL>/status": texts written in parts.
  w.putHead(TEXT, urlLen + 8 + <usize>digits.length);
  w.putRaw(url, urlLen);
  w.putUtf8("/status#");
  w.putUtf8(digits);
  w.putString("type");
  w.putString("UPDATE");
  w.putString("from");
  w.putText(url, urlLen);
  w.putString("resource");
  w.putHead(TEXT, urlLen + 7);
  w.putRaw(url, urlLen);
  w.putUtf8("/status");
  w.putString("body");
  w.putMap(1 + (reason !== null ? 1 : 0) + (code !== null ? 1 : 0));
  w.putString("value");
  w.putString(value);
  if (reason !== null) {
    w.putString("reason");
    w.putString(reason);
  }
  if (code !== null) {
    w.putString("code");
    w.putString(code);
  }
  post(w.data, w.len);
  w.release();  // statuses are rare: no buffer kept for them
}
