// Passkeys: the browser's own WebAuthn (navigator.credentials) with the JSON forms the API
// speaks — options through PublicKeyCredential.parse*OptionsFromJSON, answers through toJSON().
// Adding one needs a sign-in within 5 minutes or the current password; signing in needs no
// address (the browser offers its passkeys for this site, in the email field's autofill too).
'use strict';

window.jwtAuthPasskeys = (() => {
  const { call, authed } = window.jwtAuth;

  const supported = () => typeof window.PublicKeyCredential === 'function'
    && typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function';

  // Options from the API, minus what the browser's JSON parser refuses (members set to null).
  const withoutNulls = (value) => (Array.isArray(value) ? value.map(withoutNulls)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]))
      : value);

  // A passkey's assertion for request options ({"publicKey": …}), as JSON; null if dismissed.
  async function assertion(options, mediation) {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(withoutNulls(options.publicKey));
    const request = { publicKey };
    if (mediation) request.mediation = mediation;
    const credential = await navigator.credentials.get(request);
    return credential ? credential.toJSON() : null;
  }

  // Signs in with a passkey: the token response (cookies set), or a problem. `mediation`
  // "conditional" waits for the user to pick a passkey in the email field's autofill.
  async function signIn(mediation) {
    const options = await call('POST', '/auth/passkeys/login/options', { body: {} });
    if (!options.ok) return options;
    const credential = await assertion(options.body, mediation);
    if (!credential) return { status: 0, ok: false, body: { detail: 'No passkey was chosen.' } };
    return call('POST', '/auth/passkeys/login', { body: { credential } });
  }

  // Adds a passkey named `name` to the signed-in account.
  async function add(name, currentPassword) {
    const body = currentPassword ? { current_password: currentPassword } : {};
    const options = await authed('POST', '/auth/passkeys/register/options', { body, csrf: true });
    if (!options.ok) return options;
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(withoutNulls(options.body.publicKey));
    const credential = await navigator.credentials.create({ publicKey });
    return authed('POST', '/auth/passkeys/register', { body: { credential: credential.toJSON(), name }, csrf: true });
  }

  const list = () => authed('GET', '/auth/passkeys');
  const remove = (id) => authed('DELETE', `/auth/passkeys/${encodeURIComponent(id)}`, { csrf: true });

  // The page's passkey parts, wired to what the page (app.js) does after a sign-in's answer.
  function attach(page) {
    const $ = (id) => document.getElementById(id);
    const el = {
      login: $('passkey-login'), mfa: $('mfa-passkey'), part: $('passkeys-part'), list: $('passkeys'),
      add: $('passkey-add'), name: $('passkey-name'),
    };
    let mfaOptions = null;
    const on = supported();
    el.login.hidden = !on;

    el.login.addEventListener('click', () => page.guarded(async () => {
      page.setStatus('Waiting for your passkey…');
      const result = await signIn();
      if (result.status === 0) {
        page.setStatus('Not signed in.');
        page.showError(result.body.detail);
        return;
      }
      await page.afterSignIn(result);
    }));

    el.mfa.addEventListener('click', () => page.guarded(async () => {
      const credential = await assertion(mfaOptions);
      if (!credential) return;
      const result = await call('POST', '/auth/mfa/verify', { body: { mfa_token: page.mfaToken(), passkey: credential } });
      await page.afterSecondStep(result);
      if (result.body?.code === 'invalid_code') page.showError('That passkey was not accepted: try it again, or enter a code.');
    }));

    function item(passkey) {
      const entry = document.createElement('li');
      const kind = passkey.backed_up ? 'synced' : 'this device only';
      const used = passkey.last_used_at ? `last used ${new Date(passkey.last_used_at).toLocaleString()}` : 'never used';
      entry.textContent = `${passkey.name} — ${kind} — ${used} `;
      const removeButton = document.createElement('button');
      removeButton.type = 'button';
      removeButton.className = 'secondary';
      removeButton.textContent = 'Remove';
      removeButton.setAttribute('aria-label', `Remove the passkey ${passkey.name}`);
      removeButton.addEventListener('click', () => page.guarded(async () => {
        const done = await remove(passkey.id);
        if (done.ok) page.setStatus(`The passkey ${passkey.name} is removed.`, true);
        else page.showError(done.status === 409 ? 'It is your only way to sign in: add another first.' : page.describe(done));
        await load();
      }));
      entry.append(removeButton);
      return entry;
    }

    async function load() {
      el.part.hidden = !on;
      if (!on) return;
      const result = await list();
      el.list.replaceChildren(...(result.ok ? result.body.passkeys : []).map(item));
    }

    el.add.addEventListener('click', () => page.guarded(async () => {
      const name = el.name.value.trim() || 'Passkey';
      let result = await add(name);
      if (result.body?.code === 'reauthentication_required') {
        const password = window.prompt('Your current password, to add a passkey:');
        if (password) result = await add(name, password);
      }
      if (result.ok) page.setStatus(`The passkey ${name} is added: you can sign in with it.`, true);
      else page.showError(page.describe(result));
      await load();
    }));

    return {
      load,
      // Signed out, the page keeps nothing of the account for the next person at the screen.
      clear() {
        el.list.replaceChildren();
      },
      // The second step may take a passkey when the mfa_required answer offers one.
      offerForSecondStep(options) {
        mfaOptions = on && options ? options : null;
        el.mfa.hidden = !mfaOptions;
      },
    };
  }

  return { supported, assertion, signIn, add, list, remove, attach };
})();
