# Copyright (c) sfops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sf_oauth_token's body on the pipeline, with a fake client: scope, check mode, secrets, and a token another run
revoked between this run's read and its revocation."""

import pytest

from ansible_collections.sfops.salesforce.plugins.module_utils._sf_oauth_token import OauthTokens, check_options
from ansible_collections.sfops.salesforce.plugins.module_utils.errors import InputError, SalesforceError


def row(row_id, user, delete_token):
    return {'Id': row_id, 'AppName': 'Planhat', 'UserId': '005' + user[:3], 'User': {'Username': user}, 'UseCount': 3,
            'LastUsedDate': '2026-11-30T02:00:11.000+0000', 'CreatedDate': '2026-03-02T09:12:40.000+0000',
            'DeleteToken': delete_token}


class Client(object):
    """OauthToken rows in ``rows``; ``before_revoke(token)`` runs just before each revocation (another writer)."""

    def __init__(self, rows, users=('iu@x', 'jane@x', 'joe@x')):
        self.rows, self.users, self.revoked, self.reads = list(rows), users, [], 0
        self.before_revoke = lambda token: None

    def sub_query(self, ref, soql):
        return {'referenceId': ref, 'soql': soql}

    def composite(self, subs, allow_errors=False):
        self.reads += 1
        out = {'tokens': {'records': [dict(r) for r in self.rows]}}
        if any(s['referenceId'] == 'users' for s in subs):
            out['users'] = {'records': [{'Username': u} for u in self.users]}
        return out

    def revoke(self, token):
        self.before_revoke(token)
        live = [r for r in self.rows if r['DeleteToken'] == token]
        if not live:
            raise SalesforceError(400, 'unsupported_token_type', 'this token type is not supported')
        self.rows.remove(live[0])
        self.revoked.append(token)


class Task(object):
    def __init__(self, params, client, check_mode=False):
        self.params = dict({'app': 'Planhat', 'users': None, 'all_users': False, 'except_users': None,
                            'state': 'present'}, **params)
        self.client, self.check_mode, self.diff_mode = client, check_mode, True
        self.step, self.warnings, self.no_log_values, self.failure = None, [], set(), None

    def warn(self, text):
        self.warnings.append(text)

    def fail_from(self, error, step=None, **extra):
        self.failure = dict(extra, msg=error.message, error_code=error.error_code)
        raise RuntimeError('failed')


ROWS = (row('0Ci1', 'iu@x', 'DT-IU'), row('0Ci2', 'jane@x', 'DT-JANE'), row('0Ci3', 'Joe@X', 'DT-JOE'))


def run(params, check_mode=False, client=None):
    client = client or Client(ROWS)
    task = Task(params, client, check_mode)
    return OauthTokens(task).run(), task, client


def test_every_delete_token_read_is_a_secret_and_never_returned():
    result, task, _client = run({'all_users': True})
    assert task.no_log_values == {'DT-IU', 'DT-JANE', 'DT-JOE'}
    assert 'DT-' not in repr(result)
    assert result['changed'] is False and [t['id'] for t in result['oauth_tokens']] == ['0Ci1', '0Ci2', '0Ci3']


def test_all_users_but_the_integration_user_in_check_mode_revokes_nothing():
    result, _task, client = run({'all_users': True, 'except_users': ['IU@x'], 'state': 'absent'}, check_mode=True)
    assert client.revoked == [] and result['changed'] is True
    assert result['removed'] == {'oauth_tokens': ['0Ci2', '0Ci3']}
    assert [t['user'] for t in result['revoked']] == ['jane@x', 'Joe@X']
    assert result['msg'] == 'Would revoke 2 OAuth tokens of connected app Planhat held by every user but IU@x.'


def test_named_users_match_case_insensitively_and_a_second_run_changes_nothing():
    client = Client(ROWS)
    result, _task, _client = run({'users': ['joe@x'], 'state': 'absent'}, client=client)
    assert client.revoked == ['DT-JOE'] and result['oauth_tokens'] == [] and result['changed'] is True
    again, _task, _client = run({'users': ['joe@x'], 'state': 'absent'}, client=client)
    assert again['changed'] is False and client.revoked == ['DT-JOE']


def test_a_token_another_run_revoked_first_is_taken_as_done():
    client = Client(ROWS)

    def rival(token):
        if token == 'DT-JANE' and any(r['DeleteToken'] == 'DT-JANE' for r in client.rows):
            client.rows = [r for r in client.rows if r['DeleteToken'] != 'DT-JANE']
    client.before_revoke = rival
    result, task, _client = run({'all_users': True, 'except_users': ['iu@x'], 'state': 'absent'}, client=client)
    assert task.failure is None and client.reads == 2
    assert [r['Id'] for r in client.rows] == ['0Ci1']
    # Joe's was revoked by this run (before or after the re-read), Jane's by the other one.
    assert client.revoked == ['DT-JOE'] and result['removed'] == {'oauth_tokens': ['0Ci3']}
    assert any('unsupported_token_type' in w for w in task.warnings)


def test_a_token_the_endpoint_refuses_but_the_org_still_lists_fails_with_the_code_and_a_setup_hint():
    client = Client(ROWS)

    def refuse(token):
        raise SalesforceError(400, 'unsupported_token_type', 'this token type is not supported')
    client.revoke = refuse
    task = Task({'users': ['jane@x'], 'state': 'absent'}, client)
    with pytest.raises(RuntimeError):
        OauthTokens(task).run()
    assert task.failure['error_code'] == 'unsupported_token_type' and task.failure['changed'] is False
    assert 'still lists it' in task.failure['msg'] and client.reads == 2


@pytest.mark.parametrize('params, text', [
    ({'users': ['a'], 'all_users': True}, 'exclude each other'),
    ({}, 'Say whose tokens are meant'),
    ({'users': ['a'], 'except_users': ['b']}, 'only narrows all_users'),
])
def test_check_options(params, text):
    with pytest.raises(InputError) as exc:
        check_options(dict({'users': None, 'all_users': False, 'except_users': None}, **params))
    assert text in exc.value.message
