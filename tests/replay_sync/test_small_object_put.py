"""SmallObjectPut (the sync's lean PutObject) against moto's S3 server over real HTTP: the same
objects botocore would write, the same errors. Mocks only inject the store's failures."""

from __future__ import annotations

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError

from resources.object_store import ObjectStoreError, SmallObjectPut, make_s3_client
from resources.replay_sync.engine import BucketTree, LocalTree, sync_up
from tests.replay_sync.conftest import bucket_listing, local_listing, write_file

T0 = 1_700_000_000
ODD_KEYS = [
    "plain/a.slp",
    "with space/b c.slp",
    "unicode/Ñaña – 東京.slp",
    "signs/a+b=c&d;e,f@g$h!i'j(k)l*.slp",
    "tilde~and%percent/x.slp",
]


def quiet(_msg: str) -> None:
    pass


def lean(server, **settings) -> SmallObjectPut:
    put = SmallObjectPut.for_endpoint(
        server.endpoint_url, server.region, server.access_key_id, server.secret_access_key
    )
    for name, value in settings.items():
        setattr(put, name, value)
    return put


def test_writes_what_botocore_reads_back_for_odd_keys(s3_bucket):
    put, client = lean(s3_bucket.server), s3_bucket.client()
    for i, key in enumerate(ODD_KEYS):
        put.put(s3_bucket.name, key, f"body {i}".encode() * 50, {"mtime": f"{T0}.5"})

    listed = client.list_objects_v2(Bucket=s3_bucket.name)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(ODD_KEYS)  # signed and stored as given
    for i, key in enumerate(ODD_KEYS):
        answer = client.get_object(Bucket=s3_bucket.name, Key=key)
        assert answer["Body"].read() == f"body {i}".encode() * 50
        assert answer["Metadata"] == {"mtime": f"{T0}.5"}


def test_sync_uses_it_and_mirrors_like_botocore(store, tmp_path):
    local = LocalTree(tmp_path / "slp")
    for i, name in enumerate(["a.slp", "sub/b c.slp", "sub/deep/ü.slp"]):
        write_file(local.root, name, bytes([i]) * (1000 + i), T0)
    tree = store.tree("mewtwo")
    assert tree.small_put is not None  # the resource wires it in for endpoint URLs
    assert sync_up(local, tree, log=quiet).transferred_files == 3
    assert bucket_listing(store.client(), store.bucket, "mewtwo") == local_listing(local.root)
    assert sync_up(local, tree, log=quiet).transferred_files == 0  # rclone's metadata is there


def test_no_endpoint_or_no_credentials_leave_the_job_to_botocore(monkeypatch):
    assert SmallObjectPut.for_endpoint(None, "us-east-1", "id", "secret") is None
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert SmallObjectPut.for_endpoint("http://127.0.0.1:9", "us-east-1") is None


def test_missing_bucket_is_explained_like_botocore_errors(s3_bucket, tmp_path):
    server = s3_bucket.server
    client = make_s3_client(
        server.endpoint_url, server.region, server.access_key_id, server.secret_access_key
    )
    tree = BucketTree(client, "no-such-bucket-here", "x", small_put=lean(server))
    write_file(tmp_path, "a.slp", b"a" * 100, T0)
    with pytest.raises(ObjectStoreError, match="does not exist"):
        tree.upload(tmp_path / "a.slp", LocalTree(tmp_path).list()["a.slp"])


def test_unreachable_endpoint_is_retried_then_explained(tmp_path):
    put = SmallObjectPut.for_endpoint("http://127.0.0.1:9", "us-east-1", "id", "secret-0123")
    put.backoff.delay_amount = lambda _context: 0
    tree = BucketTree(
        make_s3_client("http://127.0.0.1:9", "us-east-1", "id", "secret-0123"), "b", "x"
    )
    tree.small_put = put
    write_file(tmp_path, "a.slp", b"a" * 100, T0)
    with pytest.raises(ObjectStoreError, match="Could not reach") as failure:
        tree.upload(tmp_path / "a.slp", LocalTree(tmp_path).list()["a.slp"])
    assert isinstance(failure.value.__cause__, EndpointConnectionError)
    assert "secret-0123" not in str(failure.value)


def _answer(status: int, code: str, headers: dict | None = None) -> AWSResponse:
    class Raw:  # what AWSResponse reads the body from
        def __init__(self, body: bytes):
            self.body = body

        def stream(self, *_args, **_kwargs):
            yield self.body

    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
    return AWSResponse("http://injected", status, headers or {}, Raw(body))


def _failing_first(put: SmallObjectPut, answers: list[AWSResponse]) -> list[str]:
    """Fault injection at the HTTP send: the first sends get `answers`, later ones go through."""
    real_send, dates = put.http.send, []

    def send(request):
        dates.append(request.headers["X-Amz-Date"])
        return answers.pop(0) if answers else real_send(request)

    put.http.send = send
    put.backoff.delay_amount = lambda _context: 0
    return dates


@pytest.mark.parametrize(("status", "code"), [(503, "SlowDown"), (500, "InternalError"), (429, "")])
def test_throttling_and_server_errors_are_retried(s3_bucket, status, code):
    put = lean(s3_bucket.server)
    sends = _failing_first(put, [_answer(status, code), _answer(status, code)])
    put.put(s3_bucket.name, "r/a.slp", b"payload", {"mtime": "1"})
    assert len(sends) == 3  # signed afresh for every attempt
    body = s3_bucket.client().get_object(Bucket=s3_bucket.name, Key="r/a.slp")["Body"].read()
    assert body == b"payload"


def test_retries_stop_after_the_budget_and_the_error_is_explained(s3_bucket, tmp_path):
    put = lean(s3_bucket.server)
    sends = _failing_first(put, [_answer(503, "SlowDown") for _ in range(10)])
    tree = BucketTree(s3_bucket.client(), s3_bucket.name, "x", small_put=put)
    write_file(tmp_path, "a.slp", b"a" * 100, T0)
    with pytest.raises(ObjectStoreError, match="SlowDown.*upload a.slp"):
        tree.upload(tmp_path / "a.slp", LocalTree(tmp_path).list()["a.slp"])
    assert len(sends) == 5


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (403, "InvalidAccessKeyId", "rejected the credentials"),
        (403, "SignatureDoesNotMatch", "rejected the credentials"),
        (403, "AccessDenied", "Permission denied"),
    ],
)
def test_refusals_are_not_retried_and_say_what_to_do(s3_bucket, tmp_path, status, code, message):
    put = lean(s3_bucket.server)
    sends = _failing_first(put, [_answer(status, code)])
    tree = BucketTree(s3_bucket.client(), s3_bucket.name, "x", small_put=put)
    write_file(tmp_path, "a.slp", b"a" * 100, T0)
    with pytest.raises(ObjectStoreError, match=message) as failure:
        tree.upload(tmp_path / "a.slp", LocalTree(tmp_path).list()["a.slp"])
    assert len(sends) == 1
    assert isinstance(failure.value.__cause__, ClientError)
    assert s3_bucket.server.secret_access_key not in str(failure.value)


def test_bulk_client_skips_expect_for_bytes_only_and_keeps_timestamps_as_text(s3_bucket, tmp_path):
    server = s3_bucket.server
    bulk = make_s3_client(
        server.endpoint_url,
        server.region,
        server.access_key_id,
        server.secret_access_key,
        bulk=True,
    )
    sent = []
    bulk.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(request))
    bulk.put_object(Bucket=s3_bucket.name, Key="k/bytes", Body=b"x" * 100)
    (tmp_path / "f").write_bytes(b"y" * 100)
    with (tmp_path / "f").open("rb") as body:
        bulk.put_object(Bucket=s3_bucket.name, Key="k/file", Body=body)
    assert [r.headers.get("Expect") for r in sent] == [None, b"100-continue"]
    listed = bulk.list_objects_v2(Bucket=s3_bucket.name)["Contents"]
    assert all(isinstance(o["LastModified"], str) for o in listed)  # not parsed: nobody reads it
    assert not isinstance(
        s3_bucket.client().list_objects_v2(Bucket=s3_bucket.name)["Contents"][0]["LastModified"],
        str,
    )
