# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_user: a user and its permission set licences (the module's code, on the pipeline).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Salesforce facts relied on (shared/reference/salesforce-api.md section 5):
- User records can never be deleted; ``state=absent`` deactivates (``IsActive=false``).
- Freezing is ``UserLogin.IsFrozen`` (UserLogin supports query and update only).
- An integration user has the "Salesforce Integration" user licence (profile "Minimum Access - API Only
  Integrations") and needs the "Salesforce API Integration" permission set licence before any permission set that
  grants object access, so the licence is assigned in the same all-or-none composite call that creates the user.
- Usernames are unique across every Salesforce org (DUPLICATE_USERNAME).
- The new-user e-mail is the SOAP ``EmailHeader.triggerUserEmail`` (SOAP API Developer Guide, EmailHeader; default
  false); the REST headers (REST API Developer Guide, "Headers") have no equivalent, so a user created over REST gets no
  welcome e-mail. ``DELETE .../password`` resets the password, returns a temporary one and e-mails a reset link
  (REST guide "Reset User Password"); ``POST .../password {"NewPassword"}`` sets it, 204, no e-mail documented.
"""

import re
import secrets
import string

from .client import soql_quote
from .composite import first_real_error, records_of, ref_query, sub_request
from .errors import InputError, SalesforceError
from .planning import did_you_mean
from ._pipeline import Plan, Resource

INTEGRATION_PROFILE = 'Minimum Access - API Only Integrations'
INTEGRATION_LICENSE = 'Salesforce Integration'
INTEGRATION_PSL = 'SalesforceAPIIntegrationPsl'

# option -> User field; only options the task sets are compared (None = unmanaged).
FIELDS = {
    'email': 'Email', 'first_name': 'FirstName', 'last_name': 'LastName', 'alias': 'Alias',
    'time_zone': 'TimeZoneSidKey', 'locale': 'LocaleSidKey', 'language': 'LanguageLocaleKey',
    'email_encoding': 'EmailEncodingKey', 'is_active': 'IsActive',
}
# Used only when creating: an existing user keeps its own values unless the task sets them, so a default can never
# cause drift on users created elsewhere.
CREATE_DEFAULTS = {'time_zone': 'GMT', 'locale': 'en_US', 'language': 'en_US', 'email_encoding': 'UTF-8'}

USER_SOQL = ('SELECT Id, Username, Email, FirstName, LastName, Alias, TimeZoneSidKey, LocaleSidKey, LanguageLocaleKey, '
             'EmailEncodingKey, IsActive, ProfileId, Profile.Name FROM User WHERE Username = %s')
PROFILE_SOQL = ('SELECT Id, Name, UserLicenseId, UserLicense.Name, UserLicense.TotalLicenses, UserLicense.UsedLicenses '
                'FROM Profile')
PSL_SOQL = 'SELECT Id, DeveloperName, MasterLabel, TotalLicenses, UsedLicenses FROM PermissionSetLicense'


def derive_alias(first_name, last_name, username):
    """Salesforce's UI rule of thumb: first initial + last name, lower case, at most 8 characters."""
    base = ((first_name or '')[:1] + (last_name or '')).lower()
    base = re.sub(r'[^a-z0-9]', '', base)
    if not base:
        base = re.sub(r'[^a-z0-9]', '', username.split('@')[0].lower())
    return base[:8] or 'user'


def generate_password(length=24):
    """A random password that meets every Salesforce complexity policy (upper, lower, digit, special)."""
    alphabet = string.ascii_letters + string.digits + '!#$%-_=+'
    while True:
        value = ''.join(secrets.choice(alphabet) for _index in range(length))
        if (any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value)
                and any(c in '!#$%-_=+' for c in value)):
            return value


def read_state(client, username, need_profiles):
    """One composite call: the user, its UserLogin and PSL assignments (by reference), profiles and PSLs with counts."""
    subs = [client.sub_query('user', USER_SOQL % soql_quote(username)),
            # References make these depend on the user query; when there is no user they fail and are ignored.
            ref_query(client, 'login', "SELECT Id, IsFrozen FROM UserLogin WHERE UserId = '@{user.records[0].Id}'"),
            ref_query(client, 'psla',
                      "SELECT Id, PermissionSetLicenseId FROM PermissionSetLicenseAssign WHERE AssigneeId = '@{user.records[0].Id}'"),
            client.sub_query('psl', PSL_SOQL)]
    if need_profiles:
        subs.append(client.sub_query('profiles', PROFILE_SOQL))
    answer = client.composite(subs, allow_errors=True)
    for ref in ('user', 'psl', 'profiles'):
        if isinstance(answer.get(ref), SalesforceError):
            raise answer[ref]
    users = records_of(answer, 'user')
    user = users[0] if users else None
    if user is not None:
        for ref in ('login', 'psla'):
            if isinstance(answer.get(ref), SalesforceError):
                raise answer[ref]
    logins = records_of(answer, 'login')
    return {
        'user': user,
        'login': logins[0] if logins else None,
        'psla': records_of(answer, 'psla'),
        'psls': records_of(answer, 'psl'),
        'profiles': records_of(answer, 'profiles'),
    }


def find_profile(profiles, name):
    for prof in profiles:
        if prof['Name'] == name:
            return prof
    folded = [p for p in profiles if p['Name'].lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise InputError('Unknown profile "%s".%s' % (name, did_you_mean(name, [p['Name'] for p in profiles])),
                     hint='Give the profile name as Setup shows it.')


def find_psl(psls, name):
    for psl in psls:
        if name.lower() in ((psl.get('DeveloperName') or '').lower(), (psl.get('MasterLabel') or '').lower()):
            return psl
    names = [p.get('DeveloperName') for p in psls] + [p.get('MasterLabel') for p in psls]
    raise InputError('Unknown permission set licence "%s".%s' % (name, did_you_mean(name, [n for n in names if n])),
                     hint='Give the DeveloperName or label of a PermissionSetLicense of this org (sf_org_info gather=licenses).')


def free_count(total, used):
    return (total or 0) - (used or 0)


def check_user_license(profile):
    lic = profile.get('UserLicense') or {}
    free = free_count(lic.get('TotalLicenses'), lic.get('UsedLicenses'))
    if lic and free < 1:
        raise InputError('No "%s" user licence is free (%s of %s used), so the user cannot be created or activated.'
                         % (lic.get('Name'), lic.get('UsedLicenses'), lic.get('TotalLicenses')),
                         hint='Deactivate an unused user with that licence, or buy more licences; '
                              'sf_org_info gather=licenses shows the counts.')


def check_psl_capacity(psl):
    free = free_count(psl.get('TotalLicenses'), psl.get('UsedLicenses'))
    if free < 1:
        raise InputError('No "%s" permission set licence is free (%s of %s used).'
                         % (psl.get('MasterLabel') or psl.get('DeveloperName'), psl.get('UsedLicenses'), psl.get('TotalLicenses')),
                         hint='Remove the licence from a user who no longer needs it (Setup > Users > Permission Set License '
                              'Assignments), or buy more.')


def user_view(user, login, psl_ids, psls, profile_name=None):
    """The ``user`` return value (option names; no secret is ever part of it)."""
    if user is None:
        return {}
    by_id = dict((p['Id'], p.get('DeveloperName')) for p in psls)
    view = dict((opt, user.get(field)) for opt, field in FIELDS.items())
    view.update({'id': user.get('Id'), 'username': user.get('Username'),
                 'profile': profile_name or (user.get('Profile') or {}).get('Name'),
                 'frozen': bool(login and login.get('IsFrozen')),
                 'permission_set_licenses': sorted(by_id.get(i) or i for i in psl_ids)})
    return view


def map_error(err):
    """A clearer message for the refusal a user write meets most (a duplicate username is the pipeline's: it first
    looks for the user in this org, see User.conflict_error)."""
    if err.error_code == 'LICENSE_LIMIT_EXCEEDED':
        return InputError('Salesforce refused: no licence of the needed type is left (%s).' % err.message,
                          hint='Free or buy a licence; sf_org_info gather=licenses shows the counts.')
    return err


def username_taken(err, username):
    """DUPLICATE_USERNAME when this org has no such user: it belongs to a user of another org.  The error code stays."""
    if err.error_code != 'DUPLICATE_USERNAME' and not any(r.get('error_code') == 'DUPLICATE_USERNAME' for r in err.records):
        return err
    taken = SalesforceError(err.status, 'DUPLICATE_USERNAME',
                            'The username %s is already taken, and not by a user of this org. Usernames are unique across '
                            'ALL Salesforce orgs (every customer, sandboxes included), so it belongs to a user in another '
                            'org.' % username, fields=['Username'])
    taken.hint = ('Pick a username that is unique worldwide, for example with your My Domain in it '
                  '(integration.planhat@yourcompany.com.prod); it need not be a real mailbox.')
    return taken


def check_options(params):
    """Contradictions found without any request."""
    if params.get('alias') and len(params['alias']) > 8:
        raise InputError('alias %r is longer than 8 characters.' % params['alias'],
                         hint='Use at most 8 characters, or omit alias to derive one.')
    if params['state'] == 'absent' and params.get('is_active'):
        raise InputError('state=absent deactivates the user, so is_active=true contradicts it.',
                         hint='Drop is_active or use state=present.')


class User(Resource):
    RESULT_KEY = 'user'
    LISTS = ('permission_set_licenses',)
    NOUN = 'user'

    def describe(self):
        return 'user %s' % self.params['username']

    def conflict_error(self, error):
        return username_taken(error, self.params['username'])

    def read(self):
        return read_state(self.client, self.params['username'], self.params['state'] == 'present')

    def plan(self, current):
        p, st = self.params, current
        user, login = st['user'], st['login']
        current_psl = dict((r['PermissionSetLicenseId'], r['Id']) for r in st['psla'])
        before = user_view(user, login, current_psl, st['psls'])
        plan = Plan(self, after=before)
        if p['state'] == 'absent':
            return self._plan_deactivate(plan, user, before)
        profile = self._profile(st['profiles'])
        psl_by_name = dict((x['DeveloperName'], x) for x in st['psls'])
        have = dict((psl_by_name_of(st['psls'], i), i) for i in current_psl)
        to_add, to_remove = plan.reconcile('permission_set_licenses', have, self._desired_psls(st['psls']),
                                           p['purge_permission_set_licenses'] and p['permission_set_licenses'] is not None)
        for name in to_add:
            check_psl_capacity(psl_by_name[name])
        plan.writes = {'psl_add': [psl_by_name[n]['Id'] for n in to_add],
                       'psl_remove': [current_psl[have[n]] for n in to_remove]}
        if user is None:
            return self._plan_create(plan, profile)
        return self._plan_update(plan, user, login, profile, st, before)

    # --- planning ------------------------------------------------------------------------------------------
    def _desired_psls(self, psls):
        """DeveloperNames of the licences asked for (None = unmanaged); integration_user adds the API integration one."""
        names = self.params.get('permission_set_licenses')
        if self.params.get('integration_user'):
            names = list(names or []) + [INTEGRATION_PSL]
        return None if names is None else sorted(set(find_psl(psls, n)['DeveloperName'] for n in names))

    def _profile(self, profiles):
        name = self.params.get('profile') or (INTEGRATION_PROFILE if self.params.get('integration_user') else None)
        if not name:
            return None
        profile = find_profile(profiles, name)
        lic = (profile.get('UserLicense') or {}).get('Name')
        if self.params.get('integration_user') and lic != INTEGRATION_LICENSE:
            raise InputError('integration_user=true needs a profile with the "%s" user licence; profile "%s" has "%s".'
                             % (INTEGRATION_LICENSE, profile['Name'], lic),
                             hint='Drop the profile option to use "%s", or set integration_user=false.' % INTEGRATION_PROFILE)
        return profile

    def _guard_self(self, user, what):
        session = self.client.session
        if session is not None and session.user_id and user and session.user_id[:15] == user['Id'][:15]:
            raise InputError('Refusing to %s %s: it is the user this task is logged in as, and the automation would lock '
                             'itself out.' % (what, user['Username']),
                             hint='Check the username option (module_defaults may have filled it in), or log in as another admin.')

    def _plan_deactivate(self, plan, user, before):
        if user is None or not user.get('IsActive'):
            return plan
        self._guard_self(user, 'deactivate')
        plan.set('is_active', True, False)
        plan.state = dict(before, is_active=False)
        plan.writes = {'kind': 'deactivate', 'id': user['Id']}
        return plan

    def _plan_create(self, plan, profile):
        p = self.params
        missing = [o for o in ('email', 'last_name') if not p.get(o)]
        if profile is None:
            missing.append('profile (or integration_user=true)')
        if missing:
            raise InputError('User %s does not exist; creating it needs: %s.' % (p['username'], ', '.join(missing)),
                             hint='Set these options, or check the username if the user should already exist.')
        if p.get('is_active') is not False:
            check_user_license(profile)
        values = dict((o, p.get(o) if p.get(o) is not None else CREATE_DEFAULTS.get(o)) for o in FIELDS)
        values['alias'] = p.get('alias') or derive_alias(p.get('first_name'), p['last_name'], p['username'])
        values['is_active'] = p.get('is_active') is not False
        fields = dict((FIELDS[o], v) for o, v in values.items() if v is not None)
        fields.update({'Username': p['username'], 'ProfileId': profile['Id']})
        plan.create(dict(values, id=None, username=p['username'], profile=profile['Name'], frozen=bool(p.get('frozen')),
                         permission_set_licenses=plan.added['permission_set_licenses']))
        plan.forced = bool(p.get('reset_password'))
        plan.writes.update(kind='create', fields=fields)
        return plan

    def _plan_update(self, plan, user, login, profile, st, before):
        p = self.params
        fields = {}
        for opt, field in FIELDS.items():
            if p.get(opt) is not None and user.get(field) != p[opt]:
                # E-mail addresses are case-insensitive; a difference only in case is not drift.
                if opt == 'email' and (user.get(field) or '').lower() == p[opt].lower():
                    continue
                fields[field] = p[opt]
                plan.set(opt, before.get(opt), p[opt])
        if profile is not None and profile['Id'] != user.get('ProfileId'):
            fields['ProfileId'] = profile['Id']
            plan.set('profile', before.get('profile'), profile['Name'])
        freeze = p.get('frozen') is not None and bool(login and login.get('IsFrozen')) != p['frozen']
        if freeze and login is None:
            raise InputError('User %s has no UserLogin record, so it cannot be frozen or unfrozen.' % user['Username'],
                             hint='Log in as the user once, or drop the frozen option.')
        if freeze:
            plan.set('frozen', before.get('frozen'), p['frozen'])
        if fields.get('IsActive') is False or (freeze and p['frozen']):
            self._guard_self(user, 'deactivate or freeze')
        # A seat is taken when an inactive user is activated or an active user moves to another user licence.
        will_be_active = fields['IsActive'] if 'IsActive' in fields else user.get('IsActive')
        cur_profile = next((x for x in st['profiles'] if x['Id'] == user.get('ProfileId')), None)
        new_profile = profile if 'ProfileId' in fields else cur_profile
        moves = bool(new_profile and cur_profile and new_profile.get('UserLicenseId') != cur_profile.get('UserLicenseId'))
        if will_be_active and new_profile and (not user.get('IsActive') or moves):
            check_user_license(new_profile)
        after = dict(before, permission_set_licenses=sorted(
            (set(before['permission_set_licenses']) | set(plan.added['permission_set_licenses']))
            - set(plan.removed['permission_set_licenses'])))
        after.update((k, v) for k, v in plan.after.items() if k in after)
        plan.state = after
        if p.get('reset_password'):
            # Nothing to compare a password with: a reset is always a change, shown without its value.
            plan.forced = True
            plan.after['password'] = '(reset)'
        plan.writes.update(kind='update', id=user['Id'], fields=fields, login_id=(login or {}).get('Id') if freeze else None)
        return plan

    # --- applying ------------------------------------------------------------------------------------------
    def apply(self, plan):
        writes = plan.writes
        if writes['kind'] == 'deactivate':
            self.step('deactivating user %s' % self.params['username'])
            self.client.update('User', writes['id'], {'IsActive': False})
            plan.applied['user'] = 'deactivated'
            return self._reread()
        subs = []
        user_ref = '@{newUser.id}' if writes['kind'] == 'create' else writes['id']
        if writes['kind'] == 'create':
            # One all-or-none transaction: the user never exists without its licence (integration users need the PSL
            # before any permission set), and nothing is left half-made when a row fails.
            subs.append(sub_request(self.client, 'POST', 'sobjects/User', 'newUser', writes['fields']))
        elif writes['fields']:
            subs.append(sub_request(self.client, 'PATCH', 'sobjects/User/%s' % writes['id'], 'user', writes['fields']))
        for i, psl_id in enumerate(writes['psl_add']):
            subs.append(sub_request(self.client, 'POST', 'sobjects/PermissionSetLicenseAssign', 'psl%d' % i,
                                    {'AssigneeId': user_ref, 'PermissionSetLicenseId': psl_id}))
        for i, row_id in enumerate(writes['psl_remove']):
            subs.append(sub_request(self.client, 'DELETE', 'sobjects/PermissionSetLicenseAssign/%s' % row_id, 'unpsl%d' % i))
        if writes['kind'] == 'create' and self.params.get('frozen'):
            subs.append(ref_query(self.client, 'newLogin', "SELECT Id FROM UserLogin WHERE UserId = '@{newUser.id}'"))
            subs.append(sub_request(self.client, 'PATCH', 'sobjects/UserLogin/@{newLogin.records[0].Id}', 'freeze', {'IsFrozen': True}))
        elif writes.get('login_id'):
            subs.append(sub_request(self.client, 'PATCH', 'sobjects/UserLogin/%s' % writes['login_id'], 'freeze',
                                    {'IsFrozen': self.params['frozen']}))
        user_id = writes.get('id')
        if subs:
            self.step('%s user %s' % ('creating' if writes['kind'] == 'create' else 'updating', self.params['username']))
            answer = self.client.composite(subs, all_or_none=True, allow_errors=True)
            error = first_real_error(answer)
            if error is not None:
                raise map_error(error)  # DUPLICATE_USERNAME goes through as it is: the pipeline looks the user up
            plan.applied['user'] = 'created' if writes['kind'] == 'create' else 'updated'
            user_id = user_id or answer['newUser']['id']
        self._password(user_id, plan, created=writes['kind'] == 'create')
        return self._reread()

    def _password(self, user_id, plan, created):
        """reset_password: DELETE (Salesforce generates it and e-mails a reset link) or POST (we set it, no e-mail)."""
        p = self.params
        self.step('setting the password of user %s (the user itself is saved)' % p['username'])
        path = 'sobjects/User/%s/password' % user_id
        if p.get('reset_password'):
            new = None
            try:
                if p.get('send_email'):
                    new = (self.client.request('DELETE', path, idempotent=False) or {}).get('NewPassword')
                else:
                    new = generate_password()
                    self.client.request('POST', path, body={'NewPassword': new}, idempotent=True)
            except SalesforceError:
                if new:
                    self.task.no_log_values.add(new)
                raise
            plan.extra['password'] = new
        elif created and p.get('send_email'):
            # The reset e-mail is the only "welcome" REST can trigger; its temporary password is not returned.
            self.client.request('DELETE', path, idempotent=False)

    def _reread(self):
        self.step('reading user %s back' % self.params['username'])
        st = read_state(self.client, self.params['username'], False)
        return user_view(st['user'], st['login'], [r['PermissionSetLicenseId'] for r in st['psla']], st['psls'])


def psl_by_name_of(psls, psl_id):
    """DeveloperName of a PermissionSetLicense id (the id itself when the org does not list it)."""
    return next((x['DeveloperName'] for x in psls if x['Id'] == psl_id), psl_id)


SPEC = User.spec(
    name='sf_user',
    argument_spec=dict(
        # No SF_USERNAME fallback here: that variable names the login user (login_username), never the user to manage.
        username=dict(type='str', required=True, no_log=False),
        email=dict(type='str'),
        first_name=dict(type='str'),
        last_name=dict(type='str'),
        alias=dict(type='str'),
        profile=dict(type='str'),
        time_zone=dict(type='str'),
        locale=dict(type='str'),
        language=dict(type='str'),
        email_encoding=dict(type='str'),
        is_active=dict(type='bool'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        frozen=dict(type='bool'),
        integration_user=dict(type='bool', default=False),
        permission_set_licenses=dict(type='list', elements='str'),
        purge_permission_set_licenses=dict(type='bool', default=False),
        reset_password=dict(type='bool', default=False, no_log=False),
        send_email=dict(type='bool', default=False),
    ),
    login_aliases=False,
    check=check_options,
)
