"""The sync's bulk S3 client (make_s3_client(bulk=True)) against moto's S3 server over real HTTP:
the objects a default client reads back, no `Expect` round trip for in-memory bodies, and the
store's refusals explained. Mocks only inject the store's answers."""

from __future__ import annotations

import pytest
from botocore.awsrequest import AWSResponse

from resources.object_store import ObjectStoreError, make_s3_client
from resources.replay_sync_engine import BucketTree, LocalTree, sync_up
from tests.replay_sync.conftest import bucket_listing, local_listing, write_file

T0 = 1_700_000_000
ODD_NAMES = [
    "plain/a.slp",
    "with space/b c.slp",
    "unicode/Ñaña – 東京.slp",
    "signs/a+b=c&d;e,f@g$h!i'j(k)l*.slp",
    "tilde~and%percent/x.slp",
]


def quiet(_msg: str) -> None:
    pass


def bulk_client(server):
    return make_s3_client(
        server.endpoint_url,
        server.region,
        server.access_key_id,
        server.secret_access_key,
        bulk=True,
    )


def test_odd_names_sync_and_read_back_through_a_default_client(s3_bucket, tmp_path):
    local = LocalTree(tmp_path / "slp")
    for i, name in enumerate(ODD_NAMES):
        write_file(local.root, name, f"body {i}".encode() * 50, T0)
    tree = BucketTree(bulk_client(s3_bucket.server), s3_bucket.name, "x")
    assert sync_up(local, tree, log=quiet).transferred_files == len(ODD_NAMES)
    plain = s3_bucket.client()
    assert bucket_listing(plain, s3_bucket.name, "x") == local_listing(local.root)
    for i, name in enumerate(ODD_NAMES):
        answer = plain.get_object(Bucket=s3_bucket.name, Key=f"x/{name}")
        assert answer["Body"].read() == f"body {i}".encode() * 50
    assert sync_up(local, tree, log=quiet).transferred_files == 0


def test_bulk_client_skips_expect_for_bytes_only_and_keeps_timestamps_as_text(s3_bucket, tmp_path):
    bulk = bulk_client(s3_bucket.server)
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


class _Raw:  # what AWSResponse reads an injected body from
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, *_args, **_kwargs):
        yield self.body


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("InvalidAccessKeyId", "rejected the credentials"),
        ("SignatureDoesNotMatch", "rejected the credentials"),
        ("AccessDenied", "Permission denied"),
    ],
)
def test_refusals_are_not_retried_and_say_what_to_do(s3_bucket, tmp_path, code, message):
    bulk = bulk_client(s3_bucket.server)
    sends = []

    def refuse(request, **_):
        sends.append(request)
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
        return AWSResponse(request.url, 403, {}, _Raw(body))

    bulk.meta.events.register("before-send.s3.PutObject", refuse)
    tree = BucketTree(bulk, s3_bucket.name, "x")
    write_file(tmp_path, "a.slp", b"a" * 100, T0)
    with pytest.raises(ObjectStoreError, match=message) as failure:
        tree.upload(tmp_path / "a.slp", LocalTree(tmp_path).list()["a.slp"])
    assert len(sends) == 1
    assert s3_bucket.server.secret_access_key not in str(failure.value)
