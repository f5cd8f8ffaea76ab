"""The query resource with columns=true: the columns a query selects, as the Salesforce CLI's `sf data query` reads
them after every query that returns records (shapes: salesforcecli/plugin-data@694fdb7
test/test-files/queryFields.exemplars.ts; see soql.query_columns)."""

import pytest

COLUMN_KEYS = {"aggregate", "apexType", "booleanType", "columnName", "custom", "displayName", "foreignKeyName",
               "insertable", "joinColumns", "numberType", "textType", "updatable"}


def columns(clean, soql):
    r = clean.rest("GET", "query/", params={"q": soql, "columns": "true"})
    assert r.status_code == 200, r.text
    return r.json()


def test_plain_fields_canonical_names_types_and_no_records(clean):
    body = columns(clean, "SELECT id, name, IsDeleted, NumberOfEmployees FROM account")
    # the columns, not the records; the top-level keys Jetstream reads from the same call
    assert set(body) == {"columnMetadata", "entityName", "groupBy", "idSelected", "keyPrefix"}
    assert (body["entityName"], body["groupBy"], body["idSelected"], body["keyPrefix"]) == ("Account", False, True,
                                                                                           "001")
    cols = body["columnMetadata"]
    assert all(set(c) == COLUMN_KEYS for c in cols)
    assert [c["columnName"] for c in cols] == ["Id", "Name", "IsDeleted", "NumberOfEmployees"]
    assert [c["displayName"] for c in cols] == ["Id", "Name", "IsDeleted", "NumberOfEmployees"]
    by = {c["columnName"]: c for c in cols}
    # exemplar simpleQuery: Id is apexType Id, not text, not writable; Name is a String
    assert (by["Id"]["apexType"], by["Id"]["textType"], by["Id"]["insertable"], by["Id"]["updatable"]) == \
        ("Id", False, False, False)
    assert (by["Name"]["apexType"], by["Name"]["textType"]) == ("String", True)
    assert (by["IsDeleted"]["apexType"], by["IsDeleted"]["booleanType"]) == ("Boolean", True)
    assert (by["NumberOfEmployees"]["apexType"], by["NumberOfEmployees"]["numberType"]) == ("Integer", True)
    assert by["NumberOfEmployees"]["insertable"] and by["NumberOfEmployees"]["updatable"]
    assert all(c["joinColumns"] == [] and c["aggregate"] is False and c["foreignKeyName"] is None for c in cols)


def test_parent_path_is_a_relationship_column_with_the_field_joined(clean):
    body = columns(clean, "SELECT Name, Owner.Name, Owner.Id FROM Account")
    assert body["idSelected"] is False  # Owner.Id is not the Account's Id
    cols = body["columnMetadata"]
    owner = cols[1]
    # exemplar queryWithJoin: column "Owner", foreignKeyName "OwnerId", apexType null, the parent field joined
    assert (owner["columnName"], owner["foreignKeyName"], owner["apexType"], owner["aggregate"]) == \
        ("Owner", "OwnerId", None, False)
    assert [j["columnName"] for j in owner["joinColumns"]] == ["Name"]
    assert owner["joinColumns"][0]["joinColumns"] == []


def test_child_subquery_is_an_aggregate_column_of_the_child_fields(clean):
    cols = columns(clean, "SELECT Name, (SELECT LastName FROM Contacts) FROM Account")["columnMetadata"]
    contacts = cols[1]
    # exemplar subquery: aggregate true, the child's columns in joinColumns (LastName insertable and updatable)
    assert (contacts["columnName"], contacts["aggregate"], contacts["apexType"]) == ("Contacts", True, None)
    last = contacts["joinColumns"][0]
    assert (last["columnName"], last["apexType"], last["insertable"], last["updatable"]) == \
        ("LastName", "String", True, True)


def test_aggregate_is_expr_n_with_the_function_as_display_name(clean):
    cols = columns(clean, "SELECT COUNT(Id), COUNT(Name) named FROM Account")["columnMetadata"]
    # exemplar aggregateQuery: "expr0", displayName "avg(Amount)", aggregate, number, apexType null
    assert [(c["columnName"], c["displayName"]) for c in cols] == [("expr0", "count(Id)"), ("named", "count(Name)")]
    assert all(c["aggregate"] and c["numberType"] and c["apexType"] is None for c in cols)


@pytest.mark.parametrize("soql, code", [("SELECT Nope FROM Account", "INVALID_FIELD"),
                                        ("SELECT Id FROM ScratchOrgInfo", "INVALID_TYPE"),
                                        ("SELECT FROM Account", "MALFORMED_QUERY")])
def test_a_bad_query_fails_as_the_query_itself_would(clean, soql, code):
    plain = clean.rest("GET", "query/", params={"q": soql})
    cols = clean.rest("GET", "query/", params={"q": soql, "columns": "true"})
    assert plain.status_code == cols.status_code == 400
    assert cols.json()[0]["errorCode"] == plain.json()[0]["errorCode"] == code


def test_columns_request_is_an_api_request(clean):
    clean.token()
    before = clean.stats()["api_requests"]
    columns(clean, "SELECT Id FROM User")
    assert clean.stats()["api_requests"] == before + 1
