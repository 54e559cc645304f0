-- Login slots and staff logins held elsewhere (issue 17, items 2 and 10);
-- the functions that use them are in functions/identity.sql.
--
-- login_failures rows are now attempts: gb_login_begin inserts one before
-- the password is hashed. Rows past the one-minute window are reaped by
-- age, oldest first: this index finds them without a scan.
CREATE INDEX login_failures_age ON login_failures (failed_at);

-- A staff row asked for with a login that another distributor's staff
-- holds keeps that login in login_elsewhere and NULL in login: it is shown
-- with the login asked for, never logs in, and never touches the holder's
-- row. Logins that log in stay globally unique (the UNIQUE on login).
ALTER TABLE staff
    ALTER COLUMN login DROP NOT NULL,
    ADD COLUMN login_elsewhere text
        CHECK (char_length(login_elsewhere) BETWEEN 1 AND 254),
    ADD CONSTRAINT staff_one_login
        CHECK ((login IS NULL) <> (login_elsewhere IS NULL));
-- One row per login and distributor, whichever column holds it.
CREATE UNIQUE INDEX staff_distributor_login
    ON staff (distributor_id, coalesce(login, login_elsewhere));
