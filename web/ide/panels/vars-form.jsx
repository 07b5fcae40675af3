// Adding or changing one config var or secret, with its errors shown at the field they are
// about: the rules are checked here first (the server checks them again and has the last
// word), and what the server refuses is put under the name or the value it names.
import { useState } from "react";
import { api } from "../api.js";
import { ErrorNote } from "../ui.jsx";

const NAME = /^[A-Z_][A-Z0-9_]*$/;
const RESERVED_PREFIXES = ["ATOLL_", "PYTHON", "LD_", "LC_", "MALLOC_", "GLIBC_"];
const RESERVED = new Set(
  "PATH HOME LANG LANGUAGE TMPDIR TMP TEMP SHELL USER LOGNAME PWD IFS ENV BASH_ENV GCONV_PATH LOCPATH NLSPATH HOSTALIASES HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY FTP_PROXY".split(" "),
);
const MAX_VALUE = 32 * 1024;

/** What is wrong with a var's name, or null. */
export function nameProblem(key) {
  if (!key) return "Give it a name.";
  if (key.length > 64) return "At most 64 characters.";
  if (!NAME.test(key)) return "Upper-case letters, digits and _, not starting with a digit (API_KEY).";
  if (RESERVED.has(key) || RESERVED_PREFIXES.some((p) => key.startsWith(p))) return `${key} is reserved: the platform sets it.`;
  return null;
}

/** What is wrong with a value, or null. */
export function valueProblem(value) {
  if (value.includes("\0")) return "A value cannot hold a NUL character.";
  if (new TextEncoder().encode(value).length > MAX_VALUE) return "At most 32 KiB.";
  return null;
}

/** Which field a refusal of the server is about. */
function fieldOf(error) {
  if (error.status === 422 && /\bvalue\b/i.test(error.message)) return "value";
  if (error.status === 422 || error.status === 404) return "key";
  if (error.status === 413) return "value";
  return null;
}

/** ``editing``: the var to change ({key, secret}), or null to add one. */
export default function VarForm({ app, env, editing, onSaved, onCancel }) {
  const [key, setKey] = useState(editing ? editing.key : "");
  const [value, setValue] = useState(editing && !editing.secret ? editing.value || "" : "");
  const [secret, setSecret] = useState(editing ? editing.secret : false);
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    const found = { key: nameProblem(key), value: valueProblem(value) };
    if (editing && editing.secret && !value) found.value = "Enter the new value: a secret's value is never shown.";
    if (found.key || found.value) return setErrors(found);
    setErrors({});
    setBusy(true);
    try {
      const listing = await api(`/apps/${encodeURIComponent(app)}/envs/${encodeURIComponent(env)}/vars`, { method: "POST", body: { vars: { [key]: value }, secret } });
      setBusy(false);
      onSaved(listing, key);
    } catch (error) {
      setBusy(false);
      const field = fieldOf(error);
      setErrors(field ? { [field]: error.message } : { form: error });
    }
  }
  const title = editing ? `Change ${editing.key}` : "Add a variable";
  return (
    <form className="vars-form form" onSubmit={submit} aria-label={title} noValidate>
      <h3>{title}</h3>
      <div className="vars-form-fields">
        <label>
          Name
          <input
            name="key"
            value={key}
            onChange={(e) => setKey(e.target.value.toUpperCase())}
            readOnly={Boolean(editing)}
            placeholder="API_KEY"
            autoComplete="off"
            spellCheck={false}
            maxLength={64}
            aria-invalid={Boolean(errors.key)}
            aria-describedby={errors.key ? "var-key-error" : undefined}
          />
          {errors.key ? (
            <span className="rv-field-error" id="var-key-error" role="alert">
              {errors.key}
            </span>
          ) : null}
        </label>
        <label>
          Value
          <textarea
            name="value"
            rows={1}
            value={value}
            onChange={(e) => setValue(e.target.value)}
            placeholder={secret ? "The secret's value: write-only, never shown again" : "hello"}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={Boolean(errors.value)}
            aria-describedby={errors.value ? "var-value-error" : undefined}
          />
          {errors.value ? (
            <span className="rv-field-error" id="var-value-error" role="alert">
              {errors.value}
            </span>
          ) : null}
        </label>
      </div>
      <label className="vars-secret">
        <input type="checkbox" name="secret" checked={secret} disabled={Boolean(editing && editing.secret)} onChange={(e) => setSecret(e.target.checked)} />
        Secret: write-only, never shown again, masked in logs
      </label>
      <ErrorNote error={errors.form} />
      <div className="actions">
        {onCancel ? (
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
        <button type="submit" className="btn primary" disabled={busy}>
          {busy ? "Saving…" : editing ? "Save" : secret ? "Set secret" : "Add variable"}
        </button>
      </div>
    </form>
  );
}
