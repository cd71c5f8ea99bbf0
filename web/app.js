// The jwt-auth web page, an app of the @jwt-auth/client library (window.jwtAuth.client, the
// cookie transport). Tokens travel only in HttpOnly cookies set by the API (TOKEN_TRANSPORT=cookie,
// or both: the local API's default); this script never sees them. The client sends the readable
// `__Host-csrf_token` cookie back in `X-CSRF-Token` on calls that change something, and refreshes
// the session once for all the page's tabs.
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

  const { client, describe } = window.jwtAuth;
  const federation = window.jwtAuthFederation;
  let configuredProviders = [];
  // Function declarations below are hoisted: the passkey parts call back into them.
  const passkeys = window.jwtAuthPasskeys.attach({
    guarded, signIn, secondStep, setStatus, showError, describe, mfaToken: () => mfaToken,
  });
  const mfa = window.jwtAuthMfa.attach({ guarded, setStatus });

  // A session that ended elsewhere (another tab's sign-out, a refused refresh) ends here too.
  client.subscribe((event) => {
    if (event.type !== 'signed_out') return;
    if (event.reason === 'logout') showSignedOut('Signed out.');
    else showSignedOut('Your session has ended: sign in again.');
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
    mfa.showState(Boolean(user.mfa_enabled));
    ui.password.value = '';
    ui.changeEmailPassword.value = '';
    show('signedIn', { focus: false });
    setStatus('Signed in.');
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
        await client.sessions.end(session.id).catch((error) => {
          if (error.status !== 404) throw error;
        });
        setStatus('That device is signed out.', true);
        await loadSessions();
      }));
      item.append(' ', end);
    }
    return item;
  }

  async function loadSessions() {
    try {
      ui.sessions.replaceChildren(...(await client.sessions.list()).map(sessionItem));
    } catch (error) {
      showError(describe(error));
    }
  }

  async function loadIdentities() {
    ui.identitiesPart.hidden = configuredProviders.length === 0;
    if (ui.identitiesPart.hidden) return;
    const linked = await client.federation.identities().catch(() => []);
    ui.identities.replaceChildren(...linked.map((identity) => {
      const item = document.createElement('li');
      item.textContent = `${identity.provider}: ${identity.email || identity.subject} `;
      const unlink = document.createElement('button');
      unlink.type = 'button';
      unlink.className = 'secondary';
      unlink.textContent = 'Unlink';
      unlink.addEventListener('click', () => guarded(async () => {
        try {
          await client.federation.unlink(identity.provider);
          setStatus(`${identity.provider} unlinked.`, true);
        } catch (error) {
          showError(error.status === 409 ? 'It is your only way to sign in: set a password first.' : describe(error));
        }
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
        try {
          await client.federation.link(provider.id);
        } catch (error) {
          if (error.code !== 'reauthentication_required') throw error;
          const password = window.prompt('Your current password, to link another sign-in:');
          if (!password) throw error;
          await client.federation.link(provider.id, { currentPassword: password });
        }
      }));
      return button;
    }));
  }

  async function showProviders() {
    configuredProviders = await client.federation.providers().catch(() => []);
    ui.providers.hidden = configuredProviders.length === 0;
    ui.providers.replaceChildren(...configuredProviders.map((provider) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = `Sign in with ${provider.name}`;
      button.addEventListener('click', () => guarded(() => client.federation.signIn(provider.id)));
      return button;
    }));
  }

  async function loadMe() {
    let user;
    try {
      user = await client.me();
    } catch (error) {
      if (error.status === 0) throw error; // no answer: the view stays, guarded() says why
      showSignedOut('Not signed in.');
      if (error.status !== 401 && error.status !== 403) showError(describe(error));
      return false;
    }
    showSignedIn(user);
    await loadSessions();
    await passkeys.load();
    await loadIdentities();
    return true;
  }

  // Runs a click's work with the buttons off; a failure the work did not handle is shown.
  async function guarded(action) {
    busy(true);
    showError('');
    try {
      await action();
    } catch (e) {
      showError(e instanceof window.jwtAuth.AuthError && e.status !== 0 ? describe(e) : `The API could not be reached (${e.message}).`);
    } finally {
      busy(false);
    }
  }

  // A sign-in the API accepted, after which /auth/me by cookie failed: the API sets no cookie
  // for this page (TOKEN_TRANSPORT=body), or the browser refuses them.
  const NO_SESSION_COOKIE = 'Signed in, but /auth/me failed: are cookies enabled? The API must set them '
    + '(TOKEN_TRANSPORT=both, the local API\'s default, or cookie).';

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
      await signIn(async () => {
        if (path === '/auth/login') return client.login(credentials.email, credentials.password);
        const result = await client.register(credentials.email, credentials.password);
        if (result.status === 'verification_required') {
          setStatus('Account created. Open the link we emailed you, then sign in.', true);
          return null;
        }
        return result;
      });
    });
  });

  // A sign-in (password, passkey, provider): the session, the second step, or why not.
  async function signIn(attempt) {
    let result;
    try {
      result = await attempt();
    } catch (error) {
      if (error.status === 0 && error.code === 'network_error') throw error;
      setStatus('Not signed in.');
      showError(error.code === 'email_not_verified'
        ? 'Confirm your email address first: open the link we emailed you.'
        : describe(error));
      ui.password.focus();
      return;
    }
    if (!result) return;
    if (result.status === 'mfa_required') {
      mfaToken = result.mfaToken;
      passkeys.offerForSecondStep(result.passkey);
      ui.mfaCode.value = '';
      ui.mfaRecovery.value = '';
      show('mfaStep');
      setStatus('Enter your code to finish signing in.');
      ui.mfaCode.focus();
      return;
    }
    if (!await loadMe()) showError(NO_SESSION_COOKIE);
    else if (result.passwordBreached) {
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
      ui.mfaCode.value = '';
      ui.mfaRecovery.value = '';
      await secondStep(() => client.verifyMfa(mfaToken, code ? { code } : { recoveryCode: recovery }),
        'That code is wrong or already used. Try the next one your app shows.');
    });
  });

  // The second step (a code's or a passkey's): the session, or why not.
  async function secondStep(attempt, wrongMessage) {
    try {
      await attempt();
    } catch (error) {
      if (error.status === 0) throw error;
      if (error.code === 'invalid_code') {
        showError(wrongMessage);
        ui.mfaCode.focus();
      } else {
        // The mfa_token ended (used, expired or too many wrong codes): sign in again.
        mfaToken = '';
        showSignedOut('Not signed in.');
        showError(`${describe(error)}. Sign in again.`);
      }
      return;
    }
    mfaToken = '';
    if (!await loadMe()) showError(NO_SESSION_COOKIE);
  }

  ui.mfaBack.addEventListener('click', () => {
    mfaToken = '';
    showSignedOut('');
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
      await client.email.forgotPassword(email);
      setStatus('If an account uses that address, a link to reset its password is on its way.', true);
    });
  });

  ui.resetForm.addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const password = ui.resetPassword.value;
      ui.resetPassword.value = '';
      try {
        await client.email.resetPassword(linkToken, password);
      } catch (error) {
        if (error.status === 0) throw error;
        if (error.status === 401) {
          showError('This reset link is invalid, expired or already used (a newer link replaces older ones). '
            + 'Ask for a new one from the sign-in page.');
        } else {
          showError(describe(error));
          ui.resetPassword.focus();
        }
        return;
      }
      ui.resetForm.hidden = true;
      ui.resetDone.hidden = false;
      setStatus('Your password is set, and every device was signed out. Sign in with the new password.', true);
    });
  });

  ui.verifyConfirm.addEventListener('click', () => guarded(async () => {
    try {
      const user = await client.email.verify(linkToken);
      setStatus(`Your email address ${user.email} is confirmed.`, true);
    } catch (error) {
      if (error.status === 401) {
        showError('This link is invalid, expired or already used. Sign in and ask for a new one.');
      } else if (error.status === 409) {
        showError('That address belongs to another account now, so your address did not change.');
      } else {
        throw error;
      }
    }
  }));

  ui.resend.addEventListener('click', () => guarded(async () => {
    await client.email.resendVerification(currentEmail);
    setStatus('A new confirmation link is on its way.', true);
  }));

  ui.changeEmailForm.addEventListener('submit', (event) => {
    event.preventDefault();
    guarded(async () => {
      const newEmail = ui.newEmail.value.trim();
      const password = ui.changeEmailPassword.value;
      ui.changeEmailPassword.value = '';
      await client.email.change(newEmail, password);
      setStatus(`A confirmation link is on its way to ${newEmail}. Your address changes once you open it.`, true);
    });
  });

  ui.check.addEventListener('click', () => guarded(async () => {
    setStatus('Checking your session…');
    await loadMe();
  }));

  ui.logout.addEventListener('click', () => guarded(async () => {
    // The client ends the session here (and in this page's other tabs) whatever the API says.
    await client.logout('local');
    ui.email.value = '';
    ui.email.focus();
  }));

  ui.signOutOthers.addEventListener('click', () => guarded(async () => {
    // The refresh cookie names this session; the API keeps it, and its cookies, signed in.
    await client.logout('others');
    setStatus('Every other device is signed out.', true);
    await loadSessions();
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
      await signIn(() => client.federation.complete(fragment.get('code')).catch((error) => {
        showSignedOut('Not signed in.');
        throw error;
      }));
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
