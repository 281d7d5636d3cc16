import { useState } from "preact/hooks";
import { api, ApiFailure, describeError, session } from "../api.js";
import { Banner } from "../components.js";
import type { Me } from "../types.js";

export function SignInPage({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    session.signIn(token.trim());
    try {
      onSignedIn(await api.get<Me>("/me"));
    } catch (failure) {
      session.signOut();
      setError(
        failure instanceof ApiFailure && failure.status === 401
          ? "That token is not valid here."
          : describeError(failure),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Experiments console</h1>
      <form onSubmit={submit}>
        <label class="field">
          <span class="field-label">Admin token</span>
          <input
            type="password"
            name="token"
            autoComplete="off"
            required
            value={token}
            onInput={(e) => setToken(e.currentTarget.value)}
          />
          <span class="hint">
            <code>npm start</code> prints one (also in <code>.data/local.json</code>). It stays in this tab only.
          </span>
        </label>
        {error && <Banner kind="error">{error}</Banner>}
        <button type="submit" class="primary" disabled={busy || token.trim() === ""}>
          Sign in
        </button>
      </form>
    </main>
  );
}
