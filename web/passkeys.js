// The page's passkey parts, through the client (client.passkeys: the browser's own WebAuthn with
// the JSON forms the API speaks). Adding one needs a sign-in within 5 minutes or the current
// password; signing in needs no address (the browser offers its passkeys for this site).
'use strict';

window.jwtAuthPasskeys = (() => {
  const { client } = window.jwtAuth;
  const { Passkeys } = window.JwtAuthClient;

  // The page shows passkeys where the browser parses the API's JSON options itself.
  const supported = () => Passkeys.supported()
    && typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function';

  // Wired to what the page (app.js) does after a sign-in's answer.
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
      await page.signIn(() => client.passkeys.signIn());
    }));

    el.mfa.addEventListener('click', () => page.guarded(async () => {
      let credential;
      try {
        credential = await client.passkeys.assert(mfaOptions);
      } catch (error) {
        if (error.code === 'passkey_cancelled') return;
        throw error;
      }
      await page.secondStep(() => client.verifyMfa(page.mfaToken(), { passkey: credential }), 'That passkey was not accepted: try it again, or enter a code.');
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
        try {
          await client.passkeys.remove(passkey.id);
          page.setStatus(`The passkey ${passkey.name} is removed.`, true);
        } catch (error) {
          page.showError(error.status === 409 ? 'It is your only way to sign in: add another first.' : page.describe(error));
        }
        await load();
      }));
      entry.append(removeButton);
      return entry;
    }

    async function load() {
      el.part.hidden = !on;
      if (!on) return;
      const passkeys = await client.passkeys.list().catch(() => []);
      el.list.replaceChildren(...passkeys.map(item));
    }

    el.add.addEventListener('click', () => page.guarded(async () => {
      const name = el.name.value.trim() || 'Passkey';
      try {
        try {
          await client.passkeys.add(name);
        } catch (error) {
          if (error.code !== 'reauthentication_required') throw error;
          const password = window.prompt('Your current password, to add a passkey:');
          if (!password) throw error;
          await client.passkeys.add(name, password);
        }
        page.setStatus(`The passkey ${name} is added: you can sign in with it.`, true);
      } catch (error) {
        page.showError(page.describe(error));
      }
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

  return { supported, attach };
})();
