//! Identity read model: every query answers from a history written through the command handler,
//! the live projection equals a rebuild and a page-by-page replay, redelivered pages change
//! nothing, and bad events or corrupt rows are errors. Run on SQLite and PostgreSQL read-model
//! databases.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use commands::{CommandHandler, HandlerConfig};
use domain::identity::{
    ApiKey, ApiKeyCommand, Email, LoginMethod, Project, ProjectCommand, RevocationReason, Role,
    SecurityEvent, Session, SessionCommand, Team, TeamCommand, User, UserCommand, UserEvent,
};
use domain::organization::{Organization, OrganizationCommand};
use domain::{
    Aggregate, CommandContext, EventCodec, EventMeta, LogPosition, NewEvent, RecordedEvent,
    StreamId,
};
use projections::read_models::identity::{self as queries, Identity};
use projections::{Projection, ProjectionError, ProjectionRunner, ReadModelDb, SqlProjection};
use security::{PasswordPolicy, hash_password};
use sqlx::Row;
use store::{ExpectedVersion, SharedStore};
use uuid::Uuid;

/// Cheap argon2id parameters (as in `security::password`'s own tests).
const CHEAP: PasswordPolicy = PasswordPolicy {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

/// Now, at the microsecond precision the read model keeps.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

/// Sends commands through the handler and remembers the last position written.
struct Writer {
    handler: CommandHandler,
    context: CommandContext,
    head: LogPosition,
}

impl Writer {
    fn new(store: &SharedStore, organization: Option<Uuid>, now: DateTime<Utc>) -> Self {
        Self {
            handler: CommandHandler::new(store.clone(), HandlerConfig::default()),
            context: CommandContext {
                actor: "user:admin".to_owned(),
                organization,
                now,
                correlation_id: Some(Uuid::now_v7()),
                causation_id: None,
            },
            head: LogPosition::START,
        }
    }

    async fn run<A: Aggregate>(&mut self, id: Uuid, command: A::Command)
    where
        A::Command: Clone + std::fmt::Debug,
    {
        let stream = StreamId::for_aggregate(A::CATEGORY, id).unwrap();
        let description = format!("{command:?}");
        let executed = self
            .handler
            .execute::<A>(&stream, command, &self.context)
            .await
            .unwrap_or_else(|e| panic!("{description}: {e}"));
        let append = executed
            .append
            .unwrap_or_else(|| panic!("{description} changed nothing"));
        self.head = self.head.max(*append.positions.last().unwrap());
    }

    async fn register(&mut self, id: Uuid, organization_id: Uuid, address: &str, role: Role) {
        self.run::<User>(
            id,
            UserCommand::Register {
                id,
                organization_id,
                email: email(address),
                display_name: format!("User {address}"),
                password_hash: Some(hash_password(&CHEAP, "correct horse battery staple").unwrap()),
                role,
            },
        )
        .await;
    }
}

/// The ids of everything [`write_history`] created.
struct History {
    now: DateTime<Utc>,
    org: Uuid,
    other_org: Uuid,
    alice: Uuid,
    bob: Uuid,
    carol: Uuid,
    /// Registered with bob's address after bob.
    dave: Uuid,
    /// In the other organization.
    eve: Uuid,
    blue: Uuid,
    red: Uuid,
    alpha: Uuid,
    beta: Uuid,
    gamma: Uuid,
    ci_key: Uuid,
    cli_key: Uuid,
    bob_session: Uuid,
    alice_session: Uuid,
    head: LogPosition,
}

async fn write_history(store: &SharedStore) -> History {
    let now = now();
    let org = Uuid::now_v7();
    let other_org = Uuid::now_v7();
    let mut w = Writer::new(store, Some(org), now);
    let h = History {
        now,
        org,
        other_org,
        alice: Uuid::now_v7(),
        bob: Uuid::now_v7(),
        carol: Uuid::now_v7(),
        dave: Uuid::now_v7(),
        eve: Uuid::now_v7(),
        blue: Uuid::now_v7(),
        red: Uuid::now_v7(),
        alpha: Uuid::now_v7(),
        beta: Uuid::now_v7(),
        gamma: Uuid::now_v7(),
        ci_key: Uuid::now_v7(),
        cli_key: Uuid::now_v7(),
        bob_session: Uuid::now_v7(),
        alice_session: Uuid::now_v7(),
        head: LogPosition::START,
    };
    for (id, name) in [(org, "Acme Security"), (other_org, "Other Org")] {
        w.run::<Organization>(
            id,
            OrganizationCommand::Register {
                id,
                name: name.into(),
            },
        )
        .await;
    }

    // Users: alice (admin, profile, TOTP, new password, OIDC), bob (promoted), carol (OIDC
    // only, disabled), dave (bob's address again), eve (another organization).
    w.register(h.alice, org, "Alice@Example.COM", Role::Admin)
        .await;
    w.register(h.bob, org, "bob@example.com", Role::User).await;
    w.run::<User>(
        h.carol,
        UserCommand::Register {
            id: h.carol,
            organization_id: org,
            email: email("carol@example.com"),
            display_name: "Carol".into(),
            password_hash: None,
            role: Role::Analyst,
        },
    )
    .await;
    w.register(h.eve, other_org, "eve@example.org", Role::Admin)
        .await;
    w.run::<User>(
        h.bob,
        UserCommand::ChangeRole {
            role: Role::Analyst,
        },
    )
    .await;
    w.run::<User>(h.carol, UserCommand::Disable).await;
    w.run::<User>(
        h.alice,
        UserCommand::UpdateProfile {
            display_name: Some("Alice A.".into()),
            preferences: Some(serde_json::json!({ "theme": "dark" })),
        },
    )
    .await;
    w.run::<User>(
        h.alice,
        UserCommand::StartTotpEnrollment {
            secret_ciphertext: vec![7; 40],
        },
    )
    .await;
    w.run::<User>(h.alice, UserCommand::ConfirmTotp { step: 100 })
        .await;
    w.run::<User>(h.alice, UserCommand::AcceptTotpStep { step: 101 })
        .await;
    w.run::<User>(
        h.alice,
        UserCommand::SetPassword {
            password_hash: hash_password(&CHEAP, "another long passphrase").unwrap(),
        },
    )
    .await;
    w.run::<User>(
        h.alice,
        UserCommand::LinkOidc {
            issuer: "https://id.example.com".into(),
            subject: "alice-42".into(),
        },
    )
    .await;
    w.register(h.dave, org, "BOB@example.com", Role::ReadOnly)
        .await;

    // Teams: blue keeps bob (alice added then removed), red has bob and carol and is renamed.
    w.run::<Team>(
        h.blue,
        TeamCommand::Create {
            id: h.blue,
            organization_id: org,
            name: "Blue team".into(),
        },
    )
    .await;
    w.run::<Team>(
        h.red,
        TeamCommand::Create {
            id: h.red,
            organization_id: org,
            name: "Red team".into(),
        },
    )
    .await;
    for (team, user) in [
        (h.blue, h.alice),
        (h.blue, h.bob),
        (h.red, h.bob),
        (h.red, h.carol),
    ] {
        w.run::<Team>(team, TeamCommand::AddMember { user_id: user })
            .await;
    }
    w.run::<Team>(h.blue, TeamCommand::RemoveMember { user_id: h.alice })
        .await;
    w.run::<Team>(
        h.red,
        TeamCommand::Rename {
            name: "Red squad".into(),
        },
    )
    .await;

    // Projects: alpha stays, beta is archived, gamma is renamed "Delta" and moved to red.
    for (id, team, name) in [
        (h.alpha, h.blue, "Alpha"),
        (h.beta, h.red, "Beta"),
        (h.gamma, h.blue, "Gamma"),
    ] {
        w.run::<Project>(
            id,
            ProjectCommand::Create {
                id,
                organization_id: org,
                team_id: team,
                name: name.into(),
            },
        )
        .await;
    }
    w.run::<Project>(h.beta, ProjectCommand::Archive).await;
    w.run::<Project>(
        h.gamma,
        ProjectCommand::Rename {
            name: "Delta".into(),
        },
    )
    .await;
    w.run::<Project>(h.gamma, ProjectCommand::MoveToTeam { team_id: h.red })
        .await;

    // API keys of alice: one expiring and revoked, one without expiry and used.
    for (id, name, role, prefix, expires_at) in [
        (
            h.ci_key,
            "CI pipeline",
            Role::User,
            "mk_ci000001",
            Some(now + TimeDelta::days(30)),
        ),
        (h.cli_key, "Laptop CLI", Role::ReadOnly, "mk_cli00002", None),
    ] {
        w.run::<ApiKey>(
            id,
            ApiKeyCommand::Create {
                id,
                organization_id: org,
                owner_user_id: h.alice,
                name: name.into(),
                role,
                prefix: prefix.into(),
                key_hash: [id.as_bytes()[15]; 32],
                expires_at,
                creator_role: Role::Admin,
            },
        )
        .await;
    }
    w.run::<ApiKey>(h.ci_key, ApiKeyCommand::Revoke).await;
    w.run::<ApiKey>(
        h.cli_key,
        ApiKeyCommand::RecordUse {
            at: now + TimeDelta::seconds(5),
        },
    )
    .await;

    // Sessions: bob's rotated once then logged out; alice's rotated twice and still open.
    for (id, user, expires_at) in [
        (h.bob_session, h.bob, now + TimeDelta::days(1)),
        (h.alice_session, h.alice, now + TimeDelta::hours(2)),
    ] {
        w.run::<Session>(
            id,
            SessionCommand::Start {
                id,
                user_id: user,
                organization_id: org,
                refresh_hash: [1; 32],
                expires_at,
                ip: Some([192, 0, 2, 1].into()),
                user_security_version: 0,
            },
        )
        .await;
    }
    for (id, presented, new) in [
        (h.bob_session, 1, 2),
        (h.alice_session, 1, 2),
        (h.alice_session, 2, 3),
    ] {
        w.run::<Session>(
            id,
            SessionCommand::Rotate {
                presented_hash: [presented; 32],
                new_hash: [new; 32],
                now,
            },
        )
        .await;
    }
    w.run::<Session>(
        h.bob_session,
        SessionCommand::Revoke {
            reason: RevocationReason::Logout,
        },
    )
    .await;

    // Events of other categories are ignored.
    let login = SecurityEvent::LoginSucceeded {
        user_id: h.alice,
        ip: None,
        method: LoginMethod::Password,
        mfa: true,
    };
    let mut audit = tests::event("unused", serde_json::Value::Null);
    audit.payload = login.encode();
    store
        .append(
            &SecurityEvent::stream_for(Some(org)).unwrap(),
            ExpectedVersion::Any,
            vec![audit],
        )
        .await
        .unwrap();
    let noise = store
        .append(
            &tests::unique_stream("noise"),
            ExpectedVersion::NoStream,
            tests::events(3),
        )
        .await
        .unwrap();
    History {
        head: noise.positions[2].max(w.head),
        ..h
    }
}

async fn check_queries(db: &ReadModelDb, h: &History) {
    assert_eq!(
        queries::organization_name(db, h.org).await.unwrap(),
        Some("Acme Security".to_owned())
    );
    assert_eq!(
        queries::organization_name(db, Uuid::now_v7())
            .await
            .unwrap(),
        None
    );

    let alice = queries::user(db, h.alice).await.unwrap().unwrap();
    assert_eq!(alice.id, h.alice);
    assert_eq!(alice.organization_id, h.org);
    assert_eq!(alice.email, Some(email("alice@example.com")));
    assert_eq!(alice.display_name, "Alice A.");
    assert_eq!(alice.role, Role::Admin);
    assert!(!alice.disabled);
    assert_eq!(alice.security_version, 2, "TOTP confirmed, password set");
    assert!(alice.totp_enabled);
    assert_eq!(alice.version, 7);

    let bob = queries::user(db, h.bob).await.unwrap().unwrap();
    assert_eq!(bob.role, Role::Analyst, "role change");
    assert_eq!(bob.security_version, 1);
    assert_eq!(bob.version, 2);
    assert_eq!(bob.display_name, "User bob@example.com");
    assert!(!bob.totp_enabled && !bob.disabled);
    assert!(alice.created_position < bob.created_position);

    let carol = queries::user(db, h.carol).await.unwrap().unwrap();
    assert!(carol.disabled, "disable");
    assert_eq!(carol.security_version, 1);
    assert_eq!(carol.role, Role::Analyst);

    let dave = queries::user(db, h.dave).await.unwrap().unwrap();
    assert_eq!(
        dave.email, None,
        "the address stays with bob, who had it first"
    );
    assert_eq!(dave.role, Role::ReadOnly);

    assert_eq!(queries::user(db, Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(
        queries::user_by_email(db, &email("BOB@example.com"))
            .await
            .unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        queries::user_by_email(db, &email("alice@example.com"))
            .await
            .unwrap()
            .map(|u| u.id),
        Some(h.alice)
    );
    assert_eq!(
        queries::user_by_email(db, &email("nobody@example.com"))
            .await
            .unwrap(),
        None
    );
    let members: Vec<Uuid> = queries::users_in_organization(db, h.org)
        .await
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(members, vec![h.alice, h.bob, h.carol, h.dave]);
    let others = queries::users_in_organization(db, h.other_org)
        .await
        .unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].id, h.eve);

    // Teams and membership.
    let blue = queries::team(db, h.blue).await.unwrap().unwrap();
    assert_eq!((blue.id, blue.organization_id), (h.blue, h.org));
    assert_eq!(blue.name, "Blue team");
    let red = queries::team(db, h.red).await.unwrap().unwrap();
    assert_eq!(red.name, "Red squad", "rename");
    assert_eq!(queries::team(db, Uuid::now_v7()).await.unwrap(), None);
    assert_eq!(
        queries::team_members(db, h.blue).await.unwrap(),
        vec![h.bob],
        "alice was added then removed"
    );
    let mut red_members = vec![h.bob, h.carol];
    red_members.sort_by_key(|id| id.to_string());
    assert_eq!(queries::team_members(db, h.red).await.unwrap(), red_members);
    assert_eq!(
        queries::teams_of_user(db, h.bob).await.unwrap(),
        vec![blue.clone(), red.clone()]
    );
    assert_eq!(queries::teams_of_user(db, h.alice).await.unwrap(), vec![]);
    assert_eq!(
        queries::teams_of_user(db, h.carol).await.unwrap(),
        vec![red.clone()]
    );

    // Projects.
    let listed = queries::projects_in_organization(db, h.org).await.unwrap();
    let names: Vec<&str> = listed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Alpha", "Delta"], "archived beta is left out");
    assert_eq!(listed[0].id, h.alpha);
    assert_eq!(listed[0].team_id, h.blue);
    let gamma = queries::project(db, h.gamma).await.unwrap().unwrap();
    assert_eq!(gamma.team_id, h.red, "moved to red");
    assert_eq!(gamma.name, "Delta");
    assert!(!gamma.archived);
    let beta = queries::project(db, h.beta).await.unwrap().unwrap();
    assert!(beta.archived, "archive");
    assert_eq!(beta.organization_id, h.org);
    assert!(
        queries::projects_in_organization(db, h.other_org)
            .await
            .unwrap()
            .is_empty()
    );

    // API keys.
    let keys = queries::api_keys_of_user(db, h.alice).await.unwrap();
    assert_eq!(keys.len(), 2);
    let (ci, cli) = (&keys[0], &keys[1]);
    assert_eq!((ci.id, ci.name.as_str()), (h.ci_key, "CI pipeline"));
    assert!(ci.revoked, "revoke");
    assert_eq!(ci.role, Role::User);
    assert_eq!(ci.prefix, "mk_ci000001");
    assert_eq!(ci.expires_at, Some(h.now + TimeDelta::days(30)));
    assert_eq!(ci.last_used_at, None);
    assert_eq!((ci.organization_id, ci.owner_user_id), (h.org, h.alice));
    assert_eq!((cli.id, cli.name.as_str()), (h.cli_key, "Laptop CLI"));
    assert!(!cli.revoked);
    assert_eq!(cli.role, Role::ReadOnly);
    assert_eq!(cli.expires_at, None);
    assert_eq!(cli.last_used_at, Some(h.now + TimeDelta::seconds(5)));
    assert!(
        queries::api_keys_of_user(db, h.bob)
            .await
            .unwrap()
            .is_empty()
    );

    // Sessions.
    let bob_session = queries::session(db, h.bob_session).await.unwrap().unwrap();
    assert!(bob_session.revoked, "logout");
    assert_eq!(bob_session.rotations, 1);
    assert_eq!(bob_session.user_id, h.bob);
    assert_eq!(bob_session.organization_id, h.org);
    assert_eq!(bob_session.expires_at, h.now + TimeDelta::days(1));
    let alice_session = queries::session(db, h.alice_session)
        .await
        .unwrap()
        .unwrap();
    assert!(!alice_session.revoked);
    assert_eq!(alice_session.rotations, 2);
    assert_eq!(alice_session.expires_at, h.now + TimeDelta::hours(2));
    assert_eq!(
        queries::sessions_of_user(db, h.bob).await.unwrap(),
        vec![bob_session]
    );
    assert_eq!(queries::session(db, Uuid::now_v7()).await.unwrap(), None);
    check_pages(db, h).await;
}

/// The paged lists the API shows: pages, cursors, and scopes that leave rows out.
async fn check_pages(db: &ReadModelDb, h: &History) {
    use projections::read_models::identity::queries::{
        projects_page, team_members_page, teams_of_user_page,
    };
    use projections::read_models::page::{Listed, Page, Scope};
    let page = |after: Option<Uuid>, limit: i64| Page { after, limit };
    let ids = |listed: Listed<queries::ProjectRow>| match listed {
        Listed::Rows(rows) => Some(rows.iter().map(|row| row.id).collect::<Vec<_>>()),
        Listed::UnknownCursor => None,
    };
    let everything = Scope::Organization(h.org);
    let projects = |scope, page| projects_page(db, scope, page);
    assert_eq!(
        ids(projects(&everything, page(None, 10)).await.unwrap()),
        Some(vec![h.alpha, h.gamma]),
        "ordered by name (Alpha, Delta), archived Beta left out"
    );
    assert_eq!(
        ids(projects(&everything, page(None, 1)).await.unwrap()),
        Some(vec![h.alpha])
    );
    assert_eq!(
        ids(projects(&everything, page(Some(h.alpha), 10))
            .await
            .unwrap()),
        Some(vec![h.gamma])
    );
    assert_eq!(
        ids(projects(&everything, page(Some(h.beta), 10)).await.unwrap()),
        Some(vec![h.gamma]),
        "an archived project is still a cursor"
    );
    for unknown in [Uuid::now_v7(), h.bob] {
        assert_eq!(
            ids(projects(&everything, page(Some(unknown), 10))
                .await
                .unwrap()),
            None
        );
    }
    // Carol is only in Red: Alpha (Blue's) is neither listed nor a cursor for her.
    let carols = Scope::TeamsOf {
        organization_id: h.org,
        user_id: h.carol,
    };
    assert_eq!(
        ids(projects(&carols, page(None, 10)).await.unwrap()),
        Some(vec![h.gamma])
    );
    assert_eq!(
        ids(projects(&carols, page(Some(h.alpha), 10)).await.unwrap()),
        None
    );
    assert_eq!(
        ids(
            projects(&Scope::Organization(h.other_org), page(Some(h.alpha), 10))
                .await
                .unwrap()
        ),
        None,
        "another organization's project is no cursor"
    );

    let team_ids = |listed: Listed<queries::TeamRow>| match listed {
        Listed::Rows(rows) => Some(rows.iter().map(|row| row.id).collect::<Vec<_>>()),
        Listed::UnknownCursor => None,
    };
    let teams = |user, shared_with, page| teams_of_user_page(db, user, shared_with, page);
    assert_eq!(
        team_ids(teams(h.bob, None, page(None, 10)).await.unwrap()),
        Some(vec![h.blue, h.red])
    );
    assert_eq!(
        team_ids(teams(h.bob, None, page(Some(h.blue), 10)).await.unwrap()),
        Some(vec![h.red])
    );
    assert_eq!(
        team_ids(teams(h.bob, Some(h.carol), page(None, 10)).await.unwrap()),
        Some(vec![h.red]),
        "only the teams carol shares with bob"
    );
    assert_eq!(
        team_ids(
            teams(h.bob, Some(h.carol), page(Some(h.blue), 10))
                .await
                .unwrap()
        ),
        None
    );

    let mut red_members = vec![h.bob, h.carol];
    red_members.sort_by_key(|id| id.to_string());
    let members = |only, page| team_members_page(db, h.red, only, page);
    let member_ids =
        |rows: Vec<queries::UserRow>| rows.iter().map(|row| row.id).collect::<Vec<_>>();
    assert_eq!(
        member_ids(members(None, page(None, 10)).await.unwrap()),
        red_members
    );
    assert_eq!(
        member_ids(members(None, page(Some(red_members[0]), 10)).await.unwrap()),
        red_members[1..]
    );
    assert_eq!(
        member_ids(members(Some(h.carol), page(None, 10)).await.unwrap()),
        [h.carol]
    );
    assert!(
        members(Some(h.alice), page(None, 10))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Every identity table as comparable lines, in a fixed order.
async fn dump(db: &ReadModelDb) -> Vec<String> {
    let tables: [(&str, &[&str], &[&str], &str); 6] = [
        (
            "users",
            &[
                "id",
                "organization_id",
                "email",
                "display_name",
                "role",
                "created_position",
            ],
            &["disabled", "security_version", "totp_enabled", "version"],
            "id",
        ),
        ("teams", &["id", "organization_id", "name"], &[], "id"),
        (
            "team_members",
            &["team_id", "user_id"],
            &[],
            "team_id, user_id",
        ),
        (
            "projects",
            &["id", "organization_id", "team_id", "name"],
            &["archived"],
            "id",
        ),
        (
            "api_keys",
            &[
                "id",
                "organization_id",
                "owner_user_id",
                "name",
                "role",
                "prefix",
            ],
            &["revoked", "expires_at", "last_used_at"],
            "id",
        ),
        (
            "sessions",
            &["id", "user_id", "organization_id"],
            &["revoked", "expires_at", "rotations"],
            "id",
        ),
    ];
    let mut lines = Vec::new();
    for (table, texts, numbers, order) in tables {
        let columns = [texts, numbers].concat().join(", ");
        let rows = sqlx::query(&format!("SELECT {columns} FROM {table} ORDER BY {order}"))
            .fetch_all(db.pool())
            .await
            .unwrap();
        for row in rows {
            let mut line = vec![table.to_owned()];
            for i in 0..texts.len() {
                line.push(format!("{:?}", row.get::<Option<String>, _>(i)));
            }
            for i in texts.len()..texts.len() + numbers.len() {
                line.push(format!("{:?}", row.get::<Option<i64>, _>(i)));
            }
            lines.push(line.join("|"));
        }
    }
    lines
}

/// The whole log up to `head`, waiting for PostgreSQL's horizon to pass it.
async fn read_log(store: &SharedStore, head: LogPosition) -> Vec<RecordedEvent> {
    for _ in 0..200 {
        let mut log: Vec<RecordedEvent> = Vec::new();
        loop {
            let page = store
                .read_all(log.last().map(|e| e.position), 100)
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            log.extend(page);
        }
        if log.last().is_some_and(|e| e.position >= head) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the log never reached {head}");
}

async fn live_rebuilt_and_redelivered_agree(store: SharedStore, db: ReadModelDb) {
    let mut runner = ProjectionRunner::new(store.clone(), None);
    projections::read_models::register_all(&mut runner, &db)
        .await
        .unwrap();
    assert!(runner.names().contains(&"identity"));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = runner.spawn(stopped);

    let history = write_history(&store).await;
    for name in ["identity", "organizations"] {
        assert!(
            runner
                .wait_for(name, history.head, Duration::from_secs(20))
                .await,
            "live projection {name} reached the head"
        );
    }
    check_queries(&db, &history).await;
    let live = dump(&db).await;
    assert_eq!(live.iter().filter(|l| l.starts_with("users|")).count(), 5);
    assert!(
        !live.iter().any(|l| l.contains("$argon2id$")),
        "no password hash is stored"
    );
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap();
    }

    let applied = runner.rebuild(Some("identity")).await.unwrap();
    assert!(applied > 40, "{applied}");
    assert_eq!(
        dump(&db).await,
        live,
        "rebuilt read model equals the live one"
    );

    // Replayed by a fresh instance in pages that each overlap what was already applied (a
    // restart between commit and acknowledgement redelivers them), every page delivered twice.
    let log = read_log(&store, history.head).await;
    let projection = SqlProjection::new(db.clone(), Identity).await.unwrap();
    projection.reset().await.unwrap();
    assert_eq!(projection.checkpoint().await.unwrap(), None);
    let mut end = 0;
    while end < log.len() {
        let start = end.saturating_sub(6);
        end = (end + 4).min(log.len());
        projection.apply(&log[start..end]).await.unwrap();
        projection.apply(&log[start..end]).await.unwrap();
        assert_eq!(
            projection.checkpoint().await.unwrap(),
            Some(log[end - 1].position)
        );
    }
    assert_eq!(dump(&db).await, live, "redelivered pages change nothing");
    projection.apply(&log).await.unwrap();
    projection.apply(&log[log.len() / 2..]).await.unwrap();
    assert_eq!(dump(&db).await, live, "redelivered pages change nothing");
    assert_eq!(
        projection.checkpoint().await.unwrap(),
        log.last().map(|e| e.position)
    );
    check_queries(&db, &history).await;
}

fn user_event(event: &UserEvent) -> NewEvent {
    NewEvent {
        meta: EventMeta {
            event_id: Uuid::now_v7(),
            occurred_at: Utc::now(),
            actor: "user:test".to_owned(),
            organization: None,
            causation_id: None,
            correlation_id: None,
        },
        payload: event.encode(),
    }
}

async fn bad_events_and_corrupt_rows_are_errors(store: SharedStore, db: ReadModelDb) {
    let org = Uuid::now_v7();
    let mut w = Writer::new(&store, Some(org), now());
    let ada = Uuid::now_v7();
    w.register(ada, org, "ada@example.com", Role::User).await;
    let good = read_log(&store, w.head).await;
    let projection = SqlProjection::new(db.clone(), Identity).await.unwrap();

    // An undecodable event stops the projection: nothing of its page is kept.
    let ada_stream = StreamId::for_aggregate("user", ada).unwrap();
    let appended = store
        .append(
            &ada_stream,
            ExpectedVersion::Exact(1),
            vec![tests::event(
                "UserRoleChanged",
                serde_json::json!({ "role": "ROOT" }),
            )],
        )
        .await
        .unwrap();
    let with_bad = read_log(&store, appended.positions[0]).await;
    let bad = with_bad.last().unwrap().clone();
    assert_eq!(bad.stream_id, ada_stream);
    let error = projection.apply(&with_bad).await.unwrap_err();
    match &error {
        ProjectionError::Decode {
            projection,
            position,
            ..
        } => {
            assert_eq!(*projection, "identity");
            assert_eq!(*position, bad.position.to_string());
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(projection.checkpoint().await.unwrap(), None);
    assert_eq!(queries::user(&db, ada).await.unwrap(), None);
    projection.apply(&good).await.unwrap();
    assert!(matches!(
        projection.apply(std::slice::from_ref(&bad)).await,
        Err(ProjectionError::Decode { .. })
    ));
    assert_eq!(
        projection.checkpoint().await.unwrap(),
        good.last().map(|e| e.position),
        "the checkpoint stays before the bad event"
    );
    assert_eq!(
        queries::user(&db, ada).await.unwrap().map(|u| u.role),
        Some(Role::User)
    );

    // A registration in a stream that names another user is refused too.
    let stranger = Uuid::now_v7();
    let misplaced = UserEvent::Registered {
        id: stranger,
        organization_id: org,
        email: email("stranger@example.com"),
        display_name: "Stranger".into(),
        password_hash: None,
        role: Role::Admin,
    };
    let result = store
        .append(
            &StreamId::for_aggregate("user", Uuid::now_v7()).unwrap(),
            ExpectedVersion::NoStream,
            vec![user_event(&misplaced)],
        )
        .await
        .unwrap();
    let log = read_log(&store, result.positions[0]).await;
    let misplaced = log.last().unwrap();
    match projection.apply(std::slice::from_ref(misplaced)).await {
        Err(ProjectionError::Decode { source, .. }) => {
            assert!(source.to_string().contains("stream"), "{source}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(queries::user(&db, stranger).await.unwrap(), None);

    // A corrupt stored value is an error, never a panic.
    for (sql, what) in [
        ("UPDATE users SET role = 'ROOT' WHERE id = $1", "role"),
        (
            "UPDATE users SET role = 'USER', disabled = 7 WHERE id = $1",
            "disabled",
        ),
        (
            "UPDATE users SET disabled = 0, organization_id = 'x' WHERE id = $1",
            "organization_id",
        ),
    ] {
        sqlx::query(sql)
            .bind(ada.to_string())
            .execute(db.pool())
            .await
            .unwrap();
        for result in [
            queries::user(&db, ada).await.map(|_| ()),
            queries::user_by_email(&db, &email("ada@example.com"))
                .await
                .map(|_| ()),
        ] {
            match result {
                Err(ProjectionError::Database(message)) => {
                    assert!(
                        message.starts_with("corrupt read model row") && message.contains(what),
                        "{message}"
                    );
                }
                other => panic!("expected a corrupt-row error, got {other:?}"),
            }
        }
    }
}

async fn sqlite_read_models(connections: u32) -> (ReadModelDb, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("rm.db").display());
    (ReadModelDb::connect(&url, connections).await.unwrap(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_identity_live_rebuilt_and_redelivered_agree() {
    let store = tests::sqlite::sqlite_store().await;
    let (db, _dir) = sqlite_read_models(4).await;
    live_rebuilt_and_redelivered_agree(store.store, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_identity_bad_events_and_corrupt_rows_are_errors() {
    let store = tests::sqlite::sqlite_store().await;
    // One connection: a failed apply leaves its transaction to a rollback queued on its
    // connection, and a write right after it on another SQLite connection can meet that
    // transaction's lock (SQLITE_BUSY, which the runner would retry).
    let (db, _dir) = sqlite_read_models(1).await;
    bad_events_and_corrupt_rows_are_errors(store.store, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_identity_live_rebuilt_and_redelivered_agree() {
    let store = tests::pg::postgres_store().await;
    let read_db = tests::pg::fresh_database().await;
    let db = ReadModelDb::connect(&read_db.admin_url, 4).await.unwrap();
    live_rebuilt_and_redelivered_agree(store.store, db.clone()).await;
    db.pool().close().await;
    read_db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_identity_bad_events_and_corrupt_rows_are_errors() {
    let store = tests::pg::postgres_store().await;
    let read_db = tests::pg::fresh_database().await;
    let db = ReadModelDb::connect(&read_db.admin_url, 4).await.unwrap();
    bad_events_and_corrupt_rows_are_errors(store.store, db.clone()).await;
    db.pool().close().await;
    read_db.drop_database().await;
}
