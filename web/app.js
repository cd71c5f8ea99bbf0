// The jwt-auth web page. Tokens travel only in HttpOnly cookies set by the API
// (TOKEN_TRANSPORT=cookie, or both: the local API's default); this script never sees them.
// State-changing calls that the cookies authenticate send the readable `__Host-csrf_token`
// cookie back in `X-CSRF-Token` (double submit; the API also checks it is the token this
// session's tokens are bound to).
//
// Mailed links open /verify-email#token=… and /reset-password#token=…: the token is in the
// fragment (never sent to a server by the browser), read here, dropped from the address bar,
// and POSTed only when the user confirms, so a mail scanner that opens the link spends nothing.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $('status'),
    error: $('error'),
    views: {
      signedOut: $('signed-out'),
      forgot: $('forgot'),
      reset: $('reset'),
      verify: $('verify'),
      mfaStep: $('mfa-step'),
      signedIn: $('signed-in'),
    },
    form: $('auth-form'),
    email: $('email'),
    password: $('password'),
    login: $('login'),
    register: $('register'),
    forgotOpen: $('forgot-open'),
    forgotForm: $('forgot-form'),
    forgotEmail: $('forgot-email'),
    forgotBack: $('forgot-back'),
    resetForm: $('reset-form'),
    resetPassword: $('reset-password'),
    resetDone: $('reset-done'),
    verifyConfirm: $('verify-confirm'),
    meEmail: $('me-email'),
    meRole: $('me-role'),
    meVerified: $('me-verified'),
    resend: $('resend'),
    check: $('check'),
    logout: $('logout'),
    changeEmailForm: $('change-email-form'),
    newEmail: $('new-email'),
    changeEmailPassword: $('change-email-password'),
    sessions: $('sessions'),
    signOutOthers: $('sign-out-others'),
    mfaStepForm: $('mfa-step-form'),
    mfaCode: $('mfa-code'),
    mfaRecovery: $('mfa-recovery'),
    mfaBack: $('mfa-back'),
    mfaState: $('mfa-state'),
    mfaStart: $('mfa-start'),
    mfaEnrol: $('mfa-enrol'),
    mfaQr: $('mfa-qr'),
    mfaSecret: $('mfa-secret'),
    mfaConfirmForm: $('mfa-confirm-form'),
    mfaConfirmCode: $('mfa-confirm-code'),
    mfaConfirmPassword: $('mfa-confirm-password'),
    mfaCodes: $('mfa-codes'),
    recoveryCodes: $('recovery-codes'),
    mfaDisableForm: $('mfa-disable-form'),
    mfaDisableCode: $('mfa-disable-code'),
    providers: $('providers'),
    identitiesPart: $('identities-part'),
    identities: $('identities'),
    linkProviders: $('link-providers'),
  };
  let currentEmail = '';
  // The second step of a login in progress: the API's single-use mfa_token, kept in memory only.
  let mfaToken = '';

  // The token of a mailed link, or what a provider's sign-in came back with (#code=, #error=,
  // #linked=), taken out of the address bar at once.
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const linkToken = fragment.get('token') || '';
  if (window.location.hash) window.history.replaceState(null, '', window.location.pathname);

  const { csrfToken, call, authed, describe } = window.jwtAuth;
  const federation = window.jwtAuthFederation;
  let configuredProviders = [];
  // Function declarations below are hoisted: the passkey parts call back into them.
  const passkeys = window.jwtAuthPasskeys.attach({
    guarded, afterSignIn, afterSecondStep, setStatus, showError, describe, mfaToken: () => mfaToken,
  });

  function showError(message) {
    ui.error.textContent = message;
    ui.error.hidden = !message;
  }

  function setStatus(message, ok = false) {
    ui.status.textContent = message;
    ui.status.classList.toggle('ok', ok);
  }

  // Shows one view and moves the focus to its heading, so a screen reader follows the change.
  function show(name, { focus = true } = {}) {
    for (const [key, view] of Object.entries(ui.views)) view.hidden = key !== name;
    if (focus) ui.views[name].querySelector('h2')?.focus();
  }

  function showSignedIn(user) {
    currentEmail = user.email;
    ui.meEmail.textContent = user.email;
    ui.meRole.textContent = user.role;
    ui.meVerified.textContent = user.email_verified ? 'Email address confirmed.' : 'Email address not confirmed yet.';
    ui.resend.hidden = Boolean(user.email_verified);
    showMfaState(Boolean(user.mfa_enabled));
    ui.password.value = '';
    ui.changeEmailPassword.value = '';
    show('signedIn', { focus: false });
    setStatus('Signed in.');
  }

  function showMfaState(enabled) {
    ui.mfaState.textContent = enabled
      ? 'Two-step sign-in is on: signing in takes a code from your app after the password.'
      : 'Two-step sign-in is off.';
    ui.mfaStart.hidden = enabled;
    ui.mfaDisableForm.hidden = !enabled;
    if (enabled) ui.mfaEnrol.hidden = true;
  }

  // A TOTP code is six digits; anything else typed in the one box is taken as a recovery code.
  function factor(text) {
    const value = text.trim();
    return /^[0-9]{6}$/.test(value) ? { code: value } : { recovery_code: value };
  }

  function showSignedOut(message) {
    currentEmail = '';
    ui.meEmail.textContent = '';
    ui.meRole.textContent = '';
    ui.sessions.replaceChildren();
    ui.identities.replaceChildren();
    passkeys.clear();
    show('signedOut', { focus: false });
    setStatus(message);
  }

  function busy(on) {
    for (const b of document.querySelectorAll('button')) b.disabled = on;
  }

  // One line per session: what the API recorded of the device (text only: a User-Agent is
  // whatever the client sent), and a button to end any session but this one.
  function sessionItem(session) {
    const item = document.createElement('li');
    item.dataset.sessionId = session.id;
    const lastUsed = new Date(session.last_used_at).toLocaleString();
    const device = session.user_agent || 'Unknown device';
    item.textContent = `${device} — ${session.ip || 'unknown address'} — last used ${lastUsed}`;
    if (session.current) {
      item.classList.add('current');
      item.append(' (this device)');
    } else {
      const end = document.createElement('button');
      end.type = 'button';
      end.className = 'secondary sign-out-session';
      end.textContent = 'Sign out';
      end.setAttribute('aria-label', `Sign out ${device}`);
      end.addEventListener('click', () => guarded(async () => {
        const result = await authed('DELETE', `/auth/sessions/${encodeURIComponent(session.id)}`, { csrf: true });
        if (result.ok || result.status === 404) {
          setStatus('That device is signed out.', true);
          await loadSessions();
        } else {
          showError(describe(result));
        }
      }));
      item.append(' ', end);
    }
    return item;
  }

  async function loadSessions() {
    const result = await authed('GET', '/auth/sessions');
    if (!result.ok || !result.body) {
      showError(describe(result));
      return;
    }
    ui.sessions.replaceChildren(...result.body.sessions.map(sessionItem));
  }

  async function loadIdentities() {
    ui.identitiesPart.hidden = configuredProviders.length === 0;
    if (ui.identitiesPart.hidden) return;
    const result = await federation.identities();
    const linked = result.ok ? result.body.identities : [];
    ui.identities.replaceChildren(...linked.map((identity) => {
      const item = document.createElement('li');
      item.textContent = `${identity.provider}: ${identity.email || identity.subject} `;
      const unlink = document.createElement('button');
      unlink.type = 'button';
      unlink.className = 'secondary';
      unlink.textContent = 'Unlink';
      unlink.addEventListener('click', () => guarded(async () => {
        const done = await federation.unlink(identity.provider);
        if (done.ok) setStatus(`${identity.provider} unlinked.`, true);
        else showError(done.status === 409 ? 'It is your only way to sign in: set a password first.' : describe(done));
        await loadIdentities();
      }));
      item.append(unlink);
      return item;
    }));
    const unlinked = configuredProviders.filter((provider) => !linked.some((identity) => identity.provider === provider.id));
    ui.linkProviders.replaceChildren(...unlinked.map((provider) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = `Link ${provider.name}`;
      button.addEventListener('click', () => guarded(async () => {
        let result = await federation.link(provider.id);
        if (result.body?.code === 'reauthentication_required') {
          const password = window.prompt('Your current password, to link another sign-in:');
          if (password) result = await federation.link(provider.id, password);
        }
        if (!result.ok) showError(describe(result));
      }));
      return button;
    }));
  }

  async function showProviders() {
    configuredProviders = await federation.providers().catch(() => []);
    ui.providers.hidden = configuredProviders.length === 0;
    ui.providers.replaceChildren(...configuredProviders.map((provider) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = `Sign in with ${provider.name}`;
      button.addEventListener('click', () => guarded(() => federation.signIn(provider.id)));
      return button;
    }));
  }

  async function loadMe() {
    const me = await authed('GET', '/auth/me');
    if (me.ok && me.body) {
      showSignedIn(me.body);
      await loadSessions();
      await passkeys.load();
      await loadIdentities();
    } else {
      showSignedOut('Not signed in.');
      if (me.status !== 401 && me.status !== 403) showError(describe(me));
    }
    return me.ok;
  }

  async function guarded(action) {
    busy(true);
    showError('');
    try {
      await action();
    } catch (e) {
      showError(`The API could not be reached (${e.message}).`);
    } finally {
      busy(false);
    }
  }

  // A sign-in the API accepted, after which /auth/me by cookie failed: tokens that came in the
  // body mean the API was started with TOKEN_TRANSPORT=body, which sets no cookie for this page.
  function noSessionCookie(result) {
    return result.body?.access_token
      ? 'Signed in, but the API sets no cookies (TOKEN_TRANSPORT=body): start it with TOKEN_TRANSPORT=both (the local API\'s default) or cookie.'
      : 'Signed in, but /auth/me failed: are cookies enabled?';
  }

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    const path = event.submitter === ui.register ? '/auth/register' : '/auth/login';
    guarded(async () => {
      const credentials = { email: ui.email.value.trim(), password: ui.password.value };
      if (!credentials.email || !credentials.password) {
        showError('Enter an email and a password.');
        return;
      }
      setStatus(path === '/auth/register' ? 'Registering…' : 'Signing in…');
      const result = await call('POST', path, { body: credentials });
      if (result.status === 202) {
        setStatus('Account created. Open the link we emailed you, then sign in.', true);
        return;
      }
      await afterSignIn(result);
    });
  });

  // A login's (or a provider sign-in's) answer: the session, the second step, or why not.
  async function afterSignIn(result) {
    if (result.body?.code === 'mfa_required') {
      mfaToken = result.body.mfa_token;
      passkeys.offerForSecondStep(result.body.passkey);
      ui.mfaCode.value = '';
      ui.mfaRecovery.value = '';
      show('mfaStep');
      setStatus('Enter your code to finish signing in.');
      ui.mfaCode.focus();
      return;
    }
    if (!result.ok) {
      setStatus('Not signed in.');
      showError(result.body?.code === 'email_not_verified'
        ? 'Confirm your email address first: open the link we emailed you.'
        : describe(result));
      ui.password.focus();
      return;
    }
    if (!await loadMe()) showError(noSessionCookie(result));
    else if (result.body?.password_breached) {
      showError('This password appeared in a data breach: please choose another (log out, then "Forgot your password?").');
    }
  }

  ui.mfaStepForm.addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const code = ui.mfaCode.value.trim();
      const recovery = ui.mfaRecovery.value.trim();
      if (!code && !recovery) {
        showError('Enter the code from your app, or a recovery code.');
        return;
      }
      const body = code ? { mfa_token: mfaToken, code } : { mfa_token: mfaToken, recovery_code: recovery };
      const result = await call('POST', '/auth/mfa/verify', { body });
      ui.mfaCode.value = '';
      ui.mfaRecovery.value = '';
      await afterSecondStep(result);
    });
  });

  // The second step's answer (a code's or a passkey's): the session, or why not.
  async function afterSecondStep(result) {
    if (result.ok) {
      mfaToken = '';
      if (!await loadMe()) showError(noSessionCookie(result));
      return;
    }
    if (result.body?.code === 'invalid_code') {
      showError('That code is wrong or already used. Try the next one your app shows.');
      ui.mfaCode.focus();
    } else {
      // The mfa_token ended (used, expired or too many wrong codes): sign in again.
      mfaToken = '';
      showSignedOut('Not signed in.');
      showError(`${describe(result)}. Sign in again.`);
    }
  }

  ui.mfaBack.addEventListener('click', () => {
    mfaToken = '';
    showSignedOut('');
  });

  ui.mfaStart.addEventListener('click', () => guarded(async () => {
    const result = await authed('POST', '/auth/mfa/totp', { csrf: true });
    if (!result.ok) {
      showError(describe(result));
      return;
    }
    // An <img> of the SVG: the markup never becomes part of this page (CSP: img-src data:).
    ui.mfaQr.src = `data:image/svg+xml;base64,${btoa(result.body.qr_svg)}`;
    ui.mfaSecret.textContent = result.body.secret;
    ui.mfaCodes.hidden = true;
    ui.mfaStart.hidden = true;
    ui.mfaEnrol.hidden = false;
    ui.mfaConfirmCode.focus();
  }));

  ui.mfaConfirmForm.addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const result = await authed('POST', '/auth/mfa/totp/confirm', {
        // The password too: a stolen session alone must not put another authenticator on the account.
        body: { code: ui.mfaConfirmCode.value.trim(), current_password: ui.mfaConfirmPassword.value },
        csrf: true,
      });
      ui.mfaConfirmCode.value = '';
      ui.mfaConfirmPassword.value = '';
      if (!result.ok) {
        showError(describe(result));
        return;
      }
      ui.mfaSecret.textContent = '';
      ui.mfaQr.removeAttribute('src');
      ui.recoveryCodes.replaceChildren(...result.body.recovery_codes.map((code) => {
        const item = document.createElement('li');
        item.textContent = code;
        return item;
      }));
      ui.mfaCodes.hidden = false;
      showMfaState(true);
      setStatus('Two-step sign-in is on.', true);
    });
  });

  ui.mfaDisableForm.addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const result = await authed('DELETE', '/auth/mfa/totp', { body: factor(ui.mfaDisableCode.value), csrf: true });
      ui.mfaDisableCode.value = '';
      if (result.ok) {
        ui.mfaCodes.hidden = true;
        ui.recoveryCodes.replaceChildren();
        showMfaState(false);
        setStatus('Two-step sign-in is off.', true);
      } else {
        showError(describe(result));
      }
    });
  });

  ui.forgotOpen.addEventListener('click', () => {
    ui.forgotEmail.value = ui.email.value.trim();
    showError('');
    setStatus('');
    show('forgot');
  });
  ui.forgotBack.addEventListener('click', () => showSignedOut(''));

  ui.forgotForm.addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const email = ui.forgotEmail.value.trim();
      if (!email) {
        showError('Enter the email address of your account.');
        return;
      }
      const result = await call('POST', '/auth/password/forgot', { body: { email } });
      if (result.ok) {
        setStatus('If an account uses that address, a link to reset its password is on its way.', true);
      } else {
        showError(describe(result));
      }
    });
  });

  ui.resetForm.addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const result = await call('POST', '/auth/password/reset', {
        body: { token: linkToken, new_password: ui.resetPassword.value },
      });
      ui.resetPassword.value = '';
      if (result.ok) {
        ui.resetForm.hidden = true;
        ui.resetDone.hidden = false;
        setStatus('Your password is set, and every device was signed out. Sign in with the new password.', true);
      } else if (result.status === 401) {
        showError('This reset link is invalid, expired or already used (a newer link replaces older ones). '
          + 'Ask for a new one from the sign-in page.');
      } else {
        showError(describe(result));
        ui.resetPassword.focus();
      }
    });
  });

  ui.verifyConfirm.addEventListener('click', () => guarded(async () => {
    const result = await call('POST', '/auth/email/verify', { body: { token: linkToken } });
    if (result.ok) {
      setStatus(`Your email address ${result.body.user.email} is confirmed.`, true);
    } else if (result.status === 401) {
      showError('This link is invalid, expired or already used. Sign in and ask for a new one.');
    } else if (result.status === 409) {
      showError('That address belongs to another account now, so your address did not change.');
    } else {
      showError(describe(result));
    }
  }));

  ui.resend.addEventListener('click', () => guarded(async () => {
    const result = await call('POST', '/auth/email/verify/resend', { body: { email: currentEmail } });
    if (result.ok) setStatus('A new confirmation link is on its way.', true);
    else showError(describe(result));
  }));

  ui.changeEmailForm.addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const body = { new_email: ui.newEmail.value.trim(), current_password: ui.changeEmailPassword.value };
      const result = await authed('POST', '/auth/email', { body, csrf: true });
      ui.changeEmailPassword.value = '';
      if (result.ok) {
        setStatus(`A confirmation link is on its way to ${body.new_email}. Your address changes once you open it.`, true);
      } else {
        showError(describe(result));
      }
    });
  });

  ui.check.addEventListener('click', () => guarded(async () => {
    setStatus('Checking your session…');
    await loadMe();
  }));

  ui.logout.addEventListener('click', () => guarded(async () => {
    const result = await call('POST', '/auth/logout', { body: { scope: 'local' }, csrf: true });
    if (result.ok) {
      ui.email.value = '';
      showSignedOut('Signed out.');
      ui.email.focus();
    } else {
      showError(describe(result));
    }
  }));

  ui.signOutOthers.addEventListener('click', () => guarded(async () => {
    // The refresh cookie names this session; the API keeps it, and its cookies, signed in.
    const result = await call('POST', '/auth/logout', { body: { scope: 'others' }, csrf: true });
    if (result.ok) {
      setStatus('Every other device is signed out.', true);
      await loadSessions();
    } else {
      showError(describe(result));
    }
  }));

  const linkPages = { '/reset-password': 'reset', '/verify-email': 'verify' };
  const linkPage = linkPages[window.location.pathname];
  if (linkPage && !linkToken) {
    showSignedOut('');
    showError('This page needs the link from your email, with its token.');
  } else if (linkPage) {
    show(linkPage, { focus: false });
    setStatus(linkPage === 'reset' ? 'Choose a new password for your account.' : 'Confirm your address.');
  } else if (fragment.get('code')) {
    guarded(async () => {
      await showProviders();
      setStatus('Signing in…');
      const result = await federation.exchange(fragment.get('code'));
      if (!result.ok && result.body?.code !== 'mfa_required') showSignedOut('Not signed in.');
      await afterSignIn(result);
    });
  } else {
    guarded(async () => {
      await showProviders();
      if (fragment.get('error')) {
        await loadMe();
        showError(federation.describeError(fragment.get('error')));
      } else if (await loadMe() && fragment.get('linked')) {
        setStatus(`${fragment.get('linked')} is linked: you can sign in with it.`, true);
      }
    });
  }
})();
