-- omnidesk schema, version 11: reports find the conversations created in a period by an index.
-- Every report's cohort is `created_at` in [since, until); without it each report (and each
-- refresh of the console's Reports screen) reads all conversations to keep a few thousand.
CREATE INDEX conversations_created ON conversations(created_at);
