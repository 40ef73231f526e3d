-- omnidesk schema, version 7: a customer's language set by hand is kept.
-- language_manual = 1: an agent set `language` (`omnidesk customer set --language`), and
-- detection on inbound messages no longer changes it; 0: it follows the latest confident
-- detection (messages.language).
ALTER TABLE customers ADD COLUMN language_manual INTEGER NOT NULL DEFAULT 0;
