// The administration page: users (find by email, newest first, one at a time: roles, custom
// claims, sessions, two-step sign-in, disable, delete) and roles (define, change, delete). It
// calls the same admin routes with the same cookies as the main page; the API checks every call.
'use strict';

(() => {
  const { request, describe } = window.jwtAuth;
  const $ = (id) => document.getElementById(id);
  const views = { users: $('users'), user: $('user'), roles: $('roles') };
  let roles = []; // every defined role, as GET /admin/roles gave it
  let nextCursor = null;
  let current = null; // the user shown, as GET /admin/users/{id} gave it

  function showError(message) {
    $('error').textContent = message;
    $('error').hidden = !message;
  }

  function setStatus(message, ok = false) {
    $('status').textContent = message;
    $('status').classList.toggle('ok', ok);
  }

  // Runs one action: buttons off meanwhile, the API's refusal shown as it said it.
  async function act(work) {
    for (const b of document.querySelectorAll('button')) b.disabled = true;
    showError('');
    try {
      await work();
    } catch (error) {
      showError(error.message);
    } finally {
      for (const b of document.querySelectorAll('button')) b.disabled = false;
    }
  }

  async function api(method, path, body) {
    const result = await request(method, path, { body });
    if (!result.ok) throw new Error(describe(result));
    return result.body;
  }

  function item(text, buttonLabel, onClick) {
    const li = document.createElement('li');
    li.append(document.createTextNode(`${text} `));
    if (buttonLabel) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link';
      button.textContent = buttonLabel;
      button.addEventListener('click', () => act(onClick));
      li.append(button);
    }
    return li;
  }

  // Users -----------------------------------------------------------------------------------

  async function listUsers(query, append = false) {
    const page = await api('GET', `/admin/users?${query}`);
    const list = $('user-list');
    if (!append) list.replaceChildren();
    for (const user of page.users) {
      const state = user.disabled ? ', disabled' : '';
      list.append(item(`${user.email} (${user.role}${state})`, 'Open', () => openUser(user.id)));
    }
    if (!page.users.length && !append) list.append(item('Nobody found.'));
    nextCursor = page.next_cursor;
    $('next-page').hidden = !nextCursor;
  }

  async function openUser(id) {
    current = await api('GET', `/admin/users/${encodeURIComponent(id)}`);
    $('user-email').textContent = current.email;
    $('user-role').textContent = current.role;
    $('user-state').textContent = current.disabled ? 'disabled' : 'active';
    $('toggle-disabled').textContent = current.disabled ? 'Enable' : 'Disable';
    $('user-mfa').textContent = current.mfa_enabled ? 'Two-step sign-in is on.' : 'Two-step sign-in is off.';
    $('remove-mfa').hidden = !current.mfa_enabled;
    $('user-permissions').textContent = (current.permissions || []).join(' ') || 'none';
    $('claims').value = JSON.stringify(current.claims || {}, null, 1);
    const choices = $('role-choices');
    choices.replaceChildren(choices.querySelector('legend') || document.createElement('legend'));
    for (const role of roles) {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = role.name;
      box.checked = (current.roles || []).includes(role.name);
      label.append(box, document.createTextNode(` ${role.name}`));
      choices.append(label);
    }
    if (!roles.length) choices.append(document.createTextNode('No role is defined yet.'));
    const sessions = await api('GET', `/admin/users/${encodeURIComponent(id)}/sessions`);
    $('user-sessions').replaceChildren(...sessions.sessions.map((s) =>
      item(`${new Date(s.last_used_at).toLocaleString()} · ${s.user_agent || 'unknown device'} · ${s.ip || ''}`)));
    if (!sessions.sessions.length) $('user-sessions').append(item('No live session.'));
    views.users.hidden = true;
    views.user.hidden = false;
    $('user-heading').focus();
  }

  function backToUsers() {
    current = null;
    views.user.hidden = true;
    views.users.hidden = false;
  }

  async function changeCurrent(body, message) {
    await api('PATCH', `/admin/users/${encodeURIComponent(current.id)}`, body);
    await openUser(current.id);
    setStatus(message, true);
  }

  // Roles -----------------------------------------------------------------------------------

  async function loadRoles() {
    roles = (await api('GET', '/admin/roles')).roles;
    $('role-list').replaceChildren(...roles.map((role) => {
      const li = item(`${role.name} — ${role.permissions.join(' ') || 'no permission'} (${role.assigned} holding)`,
        'Edit', async () => {
          $('role-name').value = role.name;
          $('role-description').value = role.description;
          $('role-permissions').value = role.permissions.join('\n');
          $('role-name').focus();
        });
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'link';
      remove.textContent = 'Delete';
      remove.addEventListener('click', () => act(async () => {
        await api('DELETE', `/admin/roles/${encodeURIComponent(role.name)}`);
        await loadRoles();
        setStatus(`Role ${role.name} deleted.`, true);
      }));
      li.append(document.createTextNode(' · '), remove);
      return li;
    }));
    if (!roles.length) $('role-list').append(item('No role is defined yet.'));
  }

  // Wiring ----------------------------------------------------------------------------------

  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const email = $('search-email').value.trim();
    act(() => listUsers(email ? `email=${encodeURIComponent(email)}` : 'limit=20'));
  });
  $('list-all').addEventListener('click', () => act(() => listUsers('limit=20')));
  $('next-page').addEventListener('click', () =>
    act(() => listUsers(`limit=20&cursor=${encodeURIComponent(nextCursor)}`, true)));
  $('user-back').addEventListener('click', backToUsers);

  $('roles-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = [...$('role-choices').querySelectorAll('input:checked')].map((box) => box.value);
    const body = { roles: chosen, revoke_sessions: $('revoke-sessions').checked };
    act(async () => {
      await changeCurrent(body, 'Roles saved.');
      await loadRoles();
    });
  });
  $('claims-form').addEventListener('submit', (event) => {
    event.preventDefault();
    act(async () => {
      let claims;
      try {
        claims = JSON.parse($('claims').value || '{}');
      } catch {
        throw new Error('The claims are not JSON.');
      }
      await changeCurrent({ claims }, 'Claims saved.');
    });
  });
  $('toggle-disabled').addEventListener('click', () =>
    act(() => changeCurrent({ disabled: !current.disabled }, current.disabled ? 'Enabled.' : 'Disabled; signed out.')));
  $('end-sessions').addEventListener('click', () => act(async () => {
    await api('DELETE', `/admin/users/${encodeURIComponent(current.id)}/sessions`);
    await openUser(current.id);
    setStatus('Signed out everywhere.', true);
  }));
  $('remove-mfa').addEventListener('click', () => act(async () => {
    await api('DELETE', `/admin/users/${encodeURIComponent(current.id)}/mfa`);
    await openUser(current.id);
    setStatus('Two-step sign-in removed.', true);
  }));
  $('delete-user').addEventListener('click', () => act(async () => {
    if (!window.confirm(`Delete ${current.email} and everything of it? This cannot be undone.`)) return;
    await api('DELETE', `/admin/users/${encodeURIComponent(current.id)}`);
    backToUsers();
    await listUsers('limit=20');
    await loadRoles();
    setStatus('Account deleted.', true);
  }));
  $('role-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const name = $('role-name').value.trim();
    const permissions = $('role-permissions').value.split(/\s+/).filter(Boolean);
    const body = { description: $('role-description').value, permissions };
    act(async () => {
      await api('PUT', `/admin/roles/${encodeURIComponent(name)}`, body);
      await loadRoles();
      setStatus(`Role ${name} saved.`, true);
    });
  });

  // Only an administrator's session gets further than the check.
  act(async () => {
    const me = await request('GET', '/auth/me');
    if (!me.ok) {
      setStatus('Sign in on the main page first.');
      return;
    }
    if (me.body.role !== 'admin') {
      setStatus('This page is for administrators.');
      return;
    }
    await loadRoles();
    await listUsers('limit=20');
    views.users.hidden = false;
    views.roles.hidden = false;
    setStatus(`Signed in as ${me.body.email}.`);
  });
})();
