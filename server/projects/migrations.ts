import type { Migration } from "../storage/migrations.js";

/** Applied by the app with `migrate(db, "projects", projectsMigrations)`, after the auth scope's `users`. */
export const projectsMigrations: Migration[] = [
  {
    version: 1,
    name: "projects, members, robots, audit log, user profiles; the public library project",
    // Metadata values are Harbor's strings ("true"/"false"), kept as given so the API returns them as is.
    // A robot's expiry is derived from created_at and duration (days, -1 never), so it is not stored.
    // Audit entries keep the project by name, not by reference: they outlive the project.
    sql: `
      CREATE TABLE projects (
        id serial PRIMARY KEY,
        name text UNIQUE NOT NULL,
        owner_id integer REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE project_metadata (
        project_id integer NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        name text NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (project_id, name)
      );
      CREATE TABLE project_members (
        id serial PRIMARY KEY,
        project_id integer NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role_id integer NOT NULL CHECK (role_id BETWEEN 1 AND 4),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (project_id, user_id)
      );
      CREATE INDEX project_members_user ON project_members (user_id);
      CREATE TABLE robots (
        id serial PRIMARY KEY,
        project_id integer NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        secret_hash text NOT NULL,
        actions text[] NOT NULL,
        duration integer NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        creator_id integer REFERENCES users (id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (project_id, name)
      );
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        username text NOT NULL,
        operation text NOT NULL,
        resource_type text NOT NULL,
        resource text NOT NULL,
        project_name text,
        op_time timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX audit_log_project ON audit_log (project_name, id);
      CREATE TABLE user_profiles (
        user_id integer PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        email text NOT NULL DEFAULT '',
        realname text NOT NULL DEFAULT '',
        comment text NOT NULL DEFAULT ''
      );
      INSERT INTO projects (name) VALUES ('library');
      INSERT INTO project_metadata (project_id, name, value)
        SELECT id, 'public', 'true' FROM projects WHERE name = 'library'
    `,
  },
];
