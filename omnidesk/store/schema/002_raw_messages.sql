-- omnidesk schema, version 2: raw messages inside the database.
-- A message's raw RFC 5322 bytes (messages.raw_sha256) live here, zlib-compressed, when they
-- are at most omnidesk.store.rawmail.INLINE_MAX bytes: one row in the ingest transaction costs
-- far less than one file per message. Larger ones, and every raw message stored before
-- version 2, are blob files (<data_dir>/blobs/<sha[:2]>/<sha>); readers look here first.
CREATE TABLE raw_messages (
    sha256  TEXT PRIMARY KEY,                    -- of the uncompressed bytes
    size    INTEGER NOT NULL,                    -- uncompressed length
    data    BLOB NOT NULL                        -- zlib stream (omnidesk.store.rawmail.pack)
) STRICT;
