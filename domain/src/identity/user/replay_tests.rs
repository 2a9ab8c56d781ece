//! Any sequence of commands the user aggregate accepts replays to the same state, from the domain
//! events and from their stored form alike (a small seeded generator stands in for proptest).

use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::aggregate::{CommandContext, replay};
use crate::codec::EventCodec;

/// A tiny deterministic generator (SplitMix64), so failures reproduce from the seed.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
}

fn any_command(random: &mut Seeded) -> UserCommand {
    let names = ["Ada", " Grace Hopper ", "Ünïcode Ñame", "", "x\u{7}"];
    let hashes = [
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        "$argon2id$v=19$m=65536,t=3,p=4$b3RoZXI$b3RoZXJoYXNo",
        "plaintext",
    ];
    let issuers = ["https://a.example", "https://b.example"];
    let subjects = ["1", "2", ""];
    match random.below(11) {
        0 => UserCommand::Register {
            id: Uuid::from_u128(1),
            organization_id: Uuid::from_u128(2),
            email: Email::parse("ada@example.com").unwrap(),
            display_name: random.pick(&names).into(),
            password_hash: (random.below(2) == 0).then(|| random.pick(&hashes).into()),
            role: random.pick(&Role::ALL),
        },
        1 => UserCommand::ChangeRole {
            role: random.pick(&Role::ALL),
        },
        2 => UserCommand::Disable,
        3 => UserCommand::Enable,
        4 => UserCommand::SetPassword {
            password_hash: random.pick(&hashes).into(),
        },
        5 => UserCommand::UpdateProfile {
            display_name: (random.below(2) == 0).then(|| random.pick(&names).into()),
            preferences: (random.below(2) == 0)
                .then(|| json!({ "page_size": random.below(3), "theme": "dark" })),
        },
        6 => UserCommand::StartTotpEnrollment {
            secret_ciphertext: vec![random.below(256) as u8; 20 + random.below(40) as usize],
        },
        7 => UserCommand::ConfirmTotp {
            step: random.below(50),
        },
        8 | 9 => UserCommand::AcceptTotpStep {
            step: random.below(50),
        },
        _ => UserCommand::LinkOidc {
            issuer: random.pick(&issuers).into(),
            subject: random.pick(&subjects).into(),
        },
    }
}

#[test]
fn any_accepted_command_sequence_replays_to_the_same_state() {
    let context = CommandContext::system(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    let mut accepted_total = 0;
    for seed in 0..300 {
        let mut random = Seeded(seed);
        let mut state = UserState::default();
        let mut history: Vec<UserEvent> = Vec::new();
        for _ in 0..60 {
            let command = any_command(&mut random);
            let Ok(events) = User::decide(&state, command.clone(), &context) else {
                continue;
            };
            for event in &events {
                state = User::evolve(state, event);
            }
            history.extend(events);

            // Invariants that hold after every accepted command.
            if let UserCommand::AcceptTotpStep { step } = command {
                assert_eq!(state.totp.last_step, Some(step), "seed {seed}");
            }
            assert_eq!(
                User::decide(&state, UserCommand::Disable, &context)
                    .map(|events| events.is_empty()),
                if state.is_registered() {
                    Ok(state.disabled)
                } else {
                    Err(crate::DomainError::NotFound("user"))
                },
                "seed {seed}"
            );
        }
        accepted_total += history.len();

        let replayed = replay::<User>(UserState::default(), history.iter());
        assert_eq!(replayed, state, "seed {seed}");

        let decoded: Vec<UserEvent> = history
            .iter()
            .map(|event| UserEvent::decode(&event.encode()).unwrap())
            .collect();
        assert_eq!(decoded, history, "seed {seed}");

        let snapshot: UserState =
            serde_json::from_slice(&serde_json::to_vec(&state).unwrap()).unwrap();
        assert_eq!(snapshot, state, "seed {seed}");

        let raises = history
            .iter()
            .filter(|event| event.invalidates_sessions())
            .count() as u64;
        assert_eq!(state.security_version, raises, "seed {seed}");
        let registrations = history
            .iter()
            .filter(|event| matches!(event, UserEvent::Registered { .. }))
            .count();
        assert!(registrations <= 1, "seed {seed}");
    }
    assert!(
        accepted_total > 3000,
        "the generator should exercise real histories, got {accepted_total} events"
    );
}
