-- A typical web site's tables (SQLite): users with PHP password_hash()
-- bcrypt hashes, friendships (one row per request, 'accepted' once the
-- friend said yes), profiles with an avatar blob. The `sql` plugin reads
-- them as they are (examples/existing-site/sqlite.toml): nothing is added.
--
-- Passwords: alice "rasmuslerdorf" (the hash is PHP's own password_verify
-- example), bob, carol and dave "bobs-password" (crypt(3) $2b$ from
-- libxcrypt, written $2y$ as PHP does: the same algorithm), legacy
-- "password" as a bare md5 hex left from an old version of the site (a
-- form bcrypt cannot check: that login is refused and logged).

CREATE TABLE users (
  id            INTEGER      NOT NULL PRIMARY KEY,
  username      VARCHAR(64)  NOT NULL UNIQUE,
  email         VARCHAR(255),
  password_hash VARCHAR(255) NOT NULL,
  display_name  VARCHAR(255)
);
CREATE TABLE friendships (
  user_id   INTEGER     NOT NULL REFERENCES users (id),
  friend_id INTEGER     NOT NULL REFERENCES users (id),
  status    VARCHAR(16) NOT NULL DEFAULT 'pending',
  PRIMARY KEY (user_id, friend_id)
);
CREATE TABLE profiles (
  user_id     INTEGER     NOT NULL PRIMARY KEY REFERENCES users (id),
  bio         TEXT,
  avatar      BLOB,
  avatar_type VARCHAR(64)
);

INSERT INTO users (id, username, email, password_hash, display_name) VALUES
  (1, 'alice', 'alice@example.com', '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a', 'Alice Liddell'),
  (2, 'bob', 'bob@example.com', '$2y$10$Kq7gW1vH3xYz9AbCdEfGhOW3ph/i26d3gDk6.nSjYSEvFuSl3gVba', 'Bob Builder'),
  (3, 'carol', 'carol@example.com', '$2y$10$Kq7gW1vH3xYz9AbCdEfGhOW3ph/i26d3gDk6.nSjYSEvFuSl3gVba', 'Carol Danvers'),
  (4, 'legacy', NULL, '5f4dcc3b5aa765d61d8327deb882cf99', 'Old Account'),
  (5, 'dave', 'dave@example.com', '$2y$10$Kq7gW1vH3xYz9AbCdEfGhOW3ph/i26d3gDk6.nSjYSEvFuSl3gVba', 'Dave Bowman');
INSERT INTO friendships (user_id, friend_id, status) VALUES
  (1, 2, 'accepted'),
  (1, 3, 'pending'),
  (4, 1, 'accepted');
INSERT INTO profiles (user_id, bio, avatar, avatar_type) VALUES
  (1, 'Curiouser & curiouser', NULL, NULL),
  (2, 'Can we fix it?', X'89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63f8dfc0000004010180c52a185d0000000049454e44ae426082', 'image/png');
