// The page's two-step sign-in settings, through the client (client.mfa): turning TOTP on (a QR
// code and the key, confirmed by a first code and the password, then the recovery codes shown
// once) and off (a code or a recovery code).
'use strict';

window.jwtAuthMfa = (() => {
  const { client } = window.jwtAuth;

  // A TOTP code is six digits; anything else typed in the one box is taken as a recovery code.
  function factor(text) {
    const value = text.trim();
    return /^[0-9]{6}$/.test(value) ? { code: value } : { recoveryCode: value };
  }

  // Wired to the page's (app.js) busy state and status line.
  function attach(page) {
    const $ = (id) => document.getElementById(id);
    const el = {
      state: $('mfa-state'), start: $('mfa-start'), enrol: $('mfa-enrol'), qr: $('mfa-qr'),
      secret: $('mfa-secret'), confirmForm: $('mfa-confirm-form'), confirmCode: $('mfa-confirm-code'),
      confirmPassword: $('mfa-confirm-password'), codes: $('mfa-codes'), recoveryCodes: $('recovery-codes'),
      disableForm: $('mfa-disable-form'), disableCode: $('mfa-disable-code'),
    };

    function showState(enabled) {
      el.state.textContent = enabled
        ? 'Two-step sign-in is on: signing in takes a code from your app after the password.'
        : 'Two-step sign-in is off.';
      el.start.hidden = enabled;
      el.disableForm.hidden = !enabled;
      if (enabled) el.enrol.hidden = true;
    }

    el.start.addEventListener('click', () => page.guarded(async () => {
      const enrolment = await client.mfa.startTotp();
      // An <img> of the SVG: the markup never becomes part of this page (CSP: img-src data:).
      el.qr.src = `data:image/svg+xml;base64,${btoa(enrolment.qr_svg)}`;
      el.secret.textContent = enrolment.secret;
      el.codes.hidden = true;
      el.start.hidden = true;
      el.enrol.hidden = false;
      el.confirmCode.focus();
    }));

    el.confirmForm.addEventListener('submit', (event) => {
      event.preventDefault();
      page.guarded(async () => {
        const code = el.confirmCode.value.trim();
        // The password too: a stolen session alone must not put another authenticator on the account.
        const password = el.confirmPassword.value;
        el.confirmCode.value = '';
        el.confirmPassword.value = '';
        const recoveryCodes = await client.mfa.confirmTotp(code, password);
        el.secret.textContent = '';
        el.qr.removeAttribute('src');
        el.recoveryCodes.replaceChildren(...recoveryCodes.map((recoveryCode) => {
          const item = document.createElement('li');
          item.textContent = recoveryCode;
          return item;
        }));
        el.codes.hidden = false;
        showState(true);
        page.setStatus('Two-step sign-in is on.', true);
      });
    });

    el.disableForm.addEventListener('submit', (event) => {
      event.preventDefault();
      page.guarded(async () => {
        const given = factor(el.disableCode.value);
        el.disableCode.value = '';
        await client.mfa.disableTotp(given);
        el.codes.hidden = true;
        el.recoveryCodes.replaceChildren();
        showState(false);
        page.setStatus('Two-step sign-in is off.', true);
      });
    });

    return { showState };
  }

  return { attach };
})();
