# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_oauth_token: the OAuth tokens users hold for one connected app, and their revocation (the module's code).

FOR INTERNAL COLLECTION USE ONLY: the interface may change in any release.

Salesforce facts relied on (sfemu/docs/rules.md, "OAuth tokens and logins"):
- ``OauthToken`` (Object Reference): one row per authorisation of an app by a user, with ``AppName`` (the app's
  label), ``UserId``, ``UseCount``, ``LastUsedDate``, ``CreatedDate`` and ``DeleteToken``; supported calls are
  describeSObjects and query only, so a row cannot be deleted through the REST API.  Users with Customize Application
  see every user's tokens, others only their own.
- ``DeleteToken`` "can be used to delete this token with the revoke OAuth token endpoint": POST it to
  ``/services/oauth2/revoke`` (Help "Revoke OAuth Tokens"); the row, its refresh token and every access token issued
  from it go.  It is a credential: registered as a no_log value as soon as it is read, never returned.

Read: one composite (the app's tokens, the named users).  Write: one revoke request per token.
"""

from .client import soql_in, soql_quote
from .composite import records_of
from .errors import InputError, SalesforceError
from ._pipeline import Plan, Resource

TOKEN_SOQL = ('SELECT Id, AppName, UserId, User.Username, UseCount, LastUsedDate, CreatedDate, DeleteToken '
              'FROM OauthToken WHERE AppName = %s')


def token_view(row):
    """The ``oauth_tokens`` item of a row (never its DeleteToken)."""
    return {'id': row['Id'], 'app': row.get('AppName'), 'user': (row.get('User') or {}).get('Username'),
            'user_id': row.get('UserId'), 'use_count': row.get('UseCount'), 'last_used': row.get('LastUsedDate'),
            'created': row.get('CreatedDate')}


def check_options(params):
    """Whose tokens: ``users`` or ``all_users`` (bool options always have a value, so AnsibleModule's
    mutually_exclusive cannot say this)."""
    if params.get('all_users') and params.get('users') is not None:
        raise InputError('users and all_users=true exclude each other.',
                         hint='List the users, or set all_users=true (with except_users for those to leave alone).')
    if not params.get('all_users') and not params.get('users'):
        raise InputError('Say whose tokens are meant: users (a list of usernames) or all_users=true.',
                         hint='For example users: [planhat.integration@example.com], or all_users: true.')
    if params.get('except_users') and not params.get('all_users'):
        raise InputError('except_users only narrows all_users=true.',
                         hint='Set all_users=true, or list the users whose tokens are meant in users.')


class OauthTokens(Resource):
    RESULT_KEY = 'oauth_tokens'
    LISTS = ('oauth_tokens',)

    def describe(self):
        p = self.params
        if p.get('all_users'):
            who = 'every user' + (' but %s' % ', '.join(p['except_users']) if p.get('except_users') else '')
        else:
            who = ', '.join(p['users'])
        return 'OAuth tokens of connected app %s held by %s' % (p['app'], who)

    def message(self, plan, check_mode):
        if plan.changed:
            return '%s %d %s.' % ('Would revoke' if check_mode else 'Revoked', len(plan.removed['oauth_tokens']), self.describe())
        if self.params['state'] == 'present':
            return 'Listed %d %s.' % (len(plan.state), self.describe())
        return 'No change: there are no %s.' % self.describe()

    def read(self):
        p, client = self.params, self.client
        subs = [client.sub_query('tokens', TOKEN_SOQL % soql_quote(p['app']))]
        named = sorted(set((p.get('users') or []) + (p.get('except_users') or [])))
        if named:
            subs.append(client.sub_query('users', 'SELECT Id, Username FROM User WHERE Username IN %s' % soql_in(named)))
        answer = client.composite(subs, allow_errors=True)
        for ref in ('tokens', 'users'):
            if isinstance(answer.get(ref), SalesforceError):
                raise answer[ref]
        rows = records_of(answer, 'tokens')
        for row in rows:
            if row.get('DeleteToken'):
                self.task.no_log_values.add(row['DeleteToken'])
        known = set(u['Username'].lower() for u in records_of(answer, 'users'))
        return {'rows': rows, 'unknown': [n for n in named if n.lower() not in known]}

    def _in_scope(self, row):
        p = self.params
        username = ((row.get('User') or {}).get('Username') or '').lower()
        if p.get('all_users'):
            return username not in set(n.lower() for n in p.get('except_users') or [])
        return username in set(n.lower() for n in p['users'])

    def plan(self, current):
        plan = Plan(self)
        if current['unknown']:
            plan.warnings.append('No user %s in this org: no token of theirs to %s.'
                                 % (', '.join(current['unknown']), 'revoke' if self.params['state'] == 'absent' else 'list'))
        rows = sorted((r for r in current['rows'] if self._in_scope(r)), key=lambda r: ((token_view(r)['user'] or '').lower(), r['Id']))
        tokens = [token_view(r) for r in rows]
        plan.state = tokens
        plan.extra['revoked'] = []
        if self.params['state'] == 'present' or not rows:
            return plan
        plan.list_change('oauth_tokens', removed=[t['id'] for t in tokens], diff=False)
        plan.set('oauth_tokens', tokens, [])
        plan.state = []
        plan.extra['revoked'] = tokens
        plan.writes = {'revoke': [(token_view(r), r.get('DeleteToken')) for r in rows]}
        return plan

    def apply(self, plan):
        for token, delete_token in plan.writes['revoke']:
            self.step('revoking the %s token %s of %s' % (token['app'], token['id'], token['user']))
            if not delete_token:
                raise InputError('OAuth token %s of %s has no DeleteToken, so it cannot be revoked through the API.'
                                 % (token['id'], token['user']), hint=self._setup_hint())
            self.client.revoke(delete_token)
            plan.applied.setdefault('removed', {'oauth_tokens': []})['oauth_tokens'].append(token['id'])

    def conflict_error(self, error):
        """The revoke endpoint refused a token the org still lists."""
        refused = SalesforceError(error.status, error.error_code, 'Salesforce did not revoke the token although OauthToken '
                                  'still lists it: %s' % error.message)
        refused.hint = self._setup_hint()
        return refused

    def _setup_hint(self):
        return ('Revoke it in Setup > Apps > Connected Apps > Connected Apps OAuth Usage (click "%s", then Revoke), '
                'or as the user in Settings > Connected Apps.' % self.params['app'])


SPEC = OauthTokens.spec(
    name='sf_oauth_token',
    argument_spec=dict(
        app=dict(type='str', required=True),
        users=dict(type='list', elements='str', no_log=False),
        all_users=dict(type='bool', default=False),
        except_users=dict(type='list', elements='str', no_log=False),
        state=dict(type='str', default='present', choices=['present', 'absent']),
    ),
    check=check_options,
)
