//! Accounts and what belongs to them: organization registration, users, teams, projects, API
//! keys and TOTP enrolment. Every change after registration requires the policy's proof.

use domain::identity::{
    ApiKey, ApiKeyCommand, ApiKeyState, Email, EmailClaimEvent, Project, ProjectCommand,
    ProjectState, Role, Team, TeamCommand, TeamState, User, UserCommand, UserState,
    validate_display_name,
};
use domain::organization::{Organization, OrganizationCommand, validate_name};
use domain::policy::{Authorized, Resource, RoleGrant, permission};
use domain::{CommandContext, DomainError, EventCodec};
use uuid::Uuid;

use super::sessions::api_key_text;
use super::{AuthTokens, IdentityError, IdentityService, RequestOrigin, blocking, stream_of};
use security::{
    encode_totp_secret, generate_totp_secret, hash_password, hash_secret, otpauth_url,
    validate_new_password, verify_totp,
};

/// What registering an organization needs.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub organization_name: String,
    pub email: String,
    pub password: String,
    pub display_name: String,
}

/// What creating a user needs; the role comes with the policy's [`RoleGrant`].
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

/// A freshly created API key: `key` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub id: Uuid,
    pub key: String,
    pub prefix: String,
}

/// A started TOTP enrolment: the secret in base32 and as an `otpauth://` URL.
#[derive(Debug, Clone)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_url: String,
}

impl IdentityService {
    /// The context of a command made by the user a policy proof names.
    fn proof_context<P: domain::policy::permission::Permission>(
        &self,
        proof: &Authorized<P>,
        origin: &RequestOrigin,
    ) -> CommandContext {
        self.context(
            format!("user:{}", proof.user_id()),
            Some(proof.organization_id()),
            origin,
        )
    }

    /// Checks a new password and hashes it off the async threads.
    async fn new_password_hash(&self, password: &str) -> Result<String, IdentityError> {
        validate_new_password(password).map_err(IdentityError::Password)?;
        let policy = self.config.password_policy;
        let password = password.to_owned();
        blocking(move || Ok(hash_password(&policy, &password)?)).await
    }

    /// Reserves an address for a user; a taken address is refused.
    async fn claim_email(
        &self,
        email: &Email,
        user_id: Uuid,
        context: &CommandContext,
    ) -> Result<(), IdentityError> {
        let stream = EmailClaimEvent::stream_for(email)
            .map_err(|e| IdentityError::from(DomainError::invalid("email", e.to_string())))?;
        if self
            .claim(
                &stream,
                EmailClaimEvent::Claimed { user_id }.encode(),
                context,
            )
            .await?
        {
            Ok(())
        } else {
            Err(IdentityError::EmailUnavailable)
        }
    }

    /// Creates an organization and its first administrator (the API, when sign-up is open, and
    /// `mirage admin create-org`). Everything is validated before anything is written.
    pub async fn create_organization(
        &self,
        input: &NewOrganization,
        origin: &RequestOrigin,
    ) -> Result<UserState, IdentityError> {
        let name = validate_name(&input.organization_name)
            .map_err(|e| rename_field(e, "organizationName"))?;
        let email = Email::parse(&input.email)?;
        let display_name = validate_display_name(&input.display_name)?;
        let password_hash = self.new_password_hash(&input.password).await?;
        let (organization_id, user_id) = (Uuid::now_v7(), Uuid::now_v7());
        let context = self.context(format!("user:{user_id}"), Some(organization_id), origin);
        self.claim_email(&email, user_id, &context).await?;
        self.handler
            .execute::<Organization>(
                &stream_of::<Organization>(organization_id)?,
                OrganizationCommand::Register {
                    id: organization_id,
                    name,
                },
                &context,
            )
            .await?;
        let user = self
            .handler
            .execute::<User>(
                &stream_of::<User>(user_id)?,
                UserCommand::Register {
                    id: user_id,
                    organization_id,
                    email,
                    display_name,
                    password_hash: Some(password_hash),
                    role: Role::Admin,
                },
                &context,
            )
            .await?;
        Ok(user.state)
    }

    /// Self-service registration (only when sign-up is open), signed in at once.
    pub async fn register_organization(
        &self,
        input: &NewOrganization,
        origin: &RequestOrigin,
    ) -> Result<(UserState, AuthTokens), IdentityError> {
        if !self.config.signup_open {
            return Err(IdentityError::SignupClosed);
        }
        let user = self.create_organization(input, origin).await?;
        let context = self.context(
            format!("user:{}", user.id.unwrap_or_default()),
            Some(user.organization_id),
            origin,
        );
        let tokens = self.start_session(&user, origin, &context).await?;
        Ok((user, tokens))
    }

    /// The policy's view of a user, if it exists.
    pub async fn user_resource(
        &self,
        user_id: Uuid,
    ) -> Result<Option<(Resource, UserState)>, IdentityError> {
        let user = self.load_user(user_id).await?;
        Ok(user.id.map(|_| {
            (
                Resource::User {
                    organization_id: user.organization_id,
                    user_id,
                },
                user.clone(),
            )
        }))
    }

    /// An organization's current name, from its stream (never behind, unlike a read model).
    pub async fn organization_name(
        &self,
        organization_id: Uuid,
    ) -> Result<Option<String>, IdentityError> {
        let organization = self
            .handler
            .load::<Organization>(&stream_of::<Organization>(organization_id)?)
            .await?
            .state;
        Ok(organization.id.map(|_| organization.name))
    }

    pub async fn team_state(&self, team_id: Uuid) -> Result<Option<TeamState>, IdentityError> {
        let team = self
            .handler
            .load::<Team>(&stream_of::<Team>(team_id)?)
            .await?
            .state;
        Ok(team.id.map(|_| team))
    }

    pub async fn api_key_state(&self, key_id: Uuid) -> Result<Option<ApiKeyState>, IdentityError> {
        let key = self
            .handler
            .load::<ApiKey>(&stream_of::<ApiKey>(key_id)?)
            .await?
            .state;
        Ok(key.exists().then_some(key))
    }

    pub async fn project_state(
        &self,
        project_id: Uuid,
    ) -> Result<Option<ProjectState>, IdentityError> {
        let project = self
            .handler
            .load::<Project>(&stream_of::<Project>(project_id)?)
            .await?
            .state;
        Ok(project.id.map(|_| project))
    }

    /// An administrator creates a user in their organization, with the role the grant allows
    /// (never above their own).
    pub async fn create_user(
        &self,
        grant: &RoleGrant<permission::ManageUsers>,
        input: &NewUser,
        origin: &RequestOrigin,
    ) -> Result<UserState, IdentityError> {
        let proof = grant.authorized();
        let email = Email::parse(&input.email)?;
        let display_name = validate_display_name(&input.display_name)?;
        let password_hash = self.new_password_hash(&input.password).await?;
        let organization_id = proof.organization_id();
        let user_id = Uuid::now_v7();
        let context = self.context(
            format!("user:{}", proof.user_id()),
            Some(organization_id),
            origin,
        );
        self.claim_email(&email, user_id, &context).await?;
        let user = self
            .handler
            .execute::<User>(
                &stream_of::<User>(user_id)?,
                UserCommand::Register {
                    id: user_id,
                    organization_id,
                    email,
                    display_name,
                    password_hash: Some(password_hash),
                    role: grant.role(),
                },
                &context,
            )
            .await?;
        self.audit_admin(&context, "user_created", Some(user_id), origin)
            .await;
        Ok(user.state)
    }

    /// Runs a command on the user the proof names.
    async fn on_user(
        &self,
        proof: &Authorized<permission::ManageUsers>,
        change: &str,
        command: UserCommand,
        origin: &RequestOrigin,
    ) -> Result<UserState, IdentityError> {
        let Resource::User { user_id, .. } = *proof.resource() else {
            return Err(IdentityError::NotFound);
        };
        let context = self.proof_context(proof, origin);
        let user = self
            .handler
            .execute::<User>(&stream_of::<User>(user_id)?, command, &context)
            .await?;
        self.audit_admin(&context, change, Some(user_id), origin)
            .await;
        Ok(user.state)
    }

    /// Gives the user the grant's resource names the role the grant allows (never above the
    /// granter's own).
    pub async fn change_role(
        &self,
        grant: &RoleGrant<permission::ManageUsers>,
        origin: &RequestOrigin,
    ) -> Result<UserState, IdentityError> {
        self.on_user(
            grant.authorized(),
            "role_changed",
            UserCommand::ChangeRole { role: grant.role() },
            origin,
        )
        .await
    }

    pub async fn disable_user(
        &self,
        proof: &Authorized<permission::ManageUsers>,
        origin: &RequestOrigin,
    ) -> Result<UserState, IdentityError> {
        self.on_user(proof, "user_disabled", UserCommand::Disable, origin)
            .await
    }

    pub async fn create_team(
        &self,
        proof: &Authorized<permission::ManageTeams>,
        name: &str,
        origin: &RequestOrigin,
    ) -> Result<TeamState, IdentityError> {
        let team_id = Uuid::now_v7();
        let context = self.proof_context(proof, origin);
        let team = self
            .handler
            .execute::<Team>(
                &stream_of::<Team>(team_id)?,
                TeamCommand::Create {
                    id: team_id,
                    organization_id: proof.organization_id(),
                    name: name.to_owned(),
                },
                &context,
            )
            .await?;
        self.audit_admin(&context, "team_created", team.state.id, origin)
            .await;
        Ok(team.state)
    }

    /// Adds a user of the same organization to the team the proof names.
    pub async fn add_team_member(
        &self,
        proof: &Authorized<permission::ManageTeams>,
        user_id: Uuid,
        origin: &RequestOrigin,
    ) -> Result<TeamState, IdentityError> {
        let Resource::Team { team_id, .. } = *proof.resource() else {
            return Err(IdentityError::NotFound);
        };
        let member = self.load_user(user_id).await?;
        if member.id.is_none() || member.organization_id != proof.organization_id() {
            return Err(IdentityError::NotFound);
        }
        let context = self.proof_context(proof, origin);
        let team = self
            .handler
            .execute::<Team>(
                &stream_of::<Team>(team_id)?,
                TeamCommand::AddMember { user_id },
                &context,
            )
            .await?;
        self.audit_admin(&context, "team_member_added", Some(user_id), origin)
            .await;
        Ok(team.state)
    }

    /// Creates a project owned by the team the proof names.
    pub async fn create_project(
        &self,
        proof: &Authorized<permission::CreateProject>,
        name: &str,
        origin: &RequestOrigin,
    ) -> Result<ProjectState, IdentityError> {
        let Resource::Team {
            team_id,
            organization_id,
        } = *proof.resource()
        else {
            return Err(IdentityError::NotFound);
        };
        match self.team_state(team_id).await? {
            Some(team) if team.organization_id == organization_id => {}
            _ => return Err(IdentityError::NotFound),
        }
        let project_id = Uuid::now_v7();
        let context = self.context(
            format!("user:{}", proof.user_id()),
            Some(organization_id),
            origin,
        );
        let project = self
            .handler
            .execute::<Project>(
                &stream_of::<Project>(project_id)?,
                ProjectCommand::Create {
                    id: project_id,
                    organization_id,
                    team_id,
                    name: name.to_owned(),
                },
                &context,
            )
            .await?;
        self.audit_admin(&context, "project_created", project.state.id, origin)
            .await;
        Ok(project.state)
    }

    /// Creates an API key for the grant's user, with the role the grant allows (never above the
    /// creator's own; the key aggregate checks that again).
    pub async fn create_api_key(
        &self,
        grant: &RoleGrant<permission::ManageApiKeys>,
        name: &str,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        origin: &RequestOrigin,
    ) -> Result<CreatedApiKey, IdentityError> {
        let proof = grant.authorized();
        let key_id = Uuid::now_v7();
        let (key, prefix) = api_key_text(key_id)?;
        let context = self.proof_context(proof, origin);
        self.handler
            .execute::<ApiKey>(
                &stream_of::<ApiKey>(key_id)?,
                ApiKeyCommand::Create {
                    id: key_id,
                    organization_id: proof.organization_id(),
                    owner_user_id: proof.user_id(),
                    name: name.to_owned(),
                    role: grant.role(),
                    prefix: prefix.clone(),
                    key_hash: hash_secret(&key),
                    expires_at,
                    creator_role: proof.role(),
                },
                &context,
            )
            .await?;
        self.audit_admin(&context, "api_key_created", Some(key_id), origin)
            .await;
        Ok(CreatedApiKey {
            id: key_id,
            key,
            prefix,
        })
    }

    pub async fn revoke_api_key(
        &self,
        proof: &Authorized<permission::ManageApiKeys>,
        key_id: Uuid,
        origin: &RequestOrigin,
    ) -> Result<(), IdentityError> {
        let context = self.proof_context(proof, origin);
        self.handler
            .execute::<ApiKey>(
                &stream_of::<ApiKey>(key_id)?,
                ApiKeyCommand::Revoke,
                &context,
            )
            .await?;
        self.audit_admin(&context, "api_key_revoked", Some(key_id), origin)
            .await;
        Ok(())
    }

    /// Starts TOTP enrolment for the proof's user; the secret is stored encrypted.
    pub async fn enroll_totp(
        &self,
        proof: &Authorized<permission::EnrollMfa>,
        origin: &RequestOrigin,
    ) -> Result<TotpEnrollment, IdentityError> {
        let user_id = proof.user_id();
        let user = self.load_user(user_id).await?;
        let secret = generate_totp_secret()?;
        let ciphertext = self.secrets.seal(&secret, user_id.as_bytes())?;
        let context = self.context(
            format!("user:{user_id}"),
            Some(proof.organization_id()),
            origin,
        );
        self.handler
            .execute::<User>(
                &stream_of::<User>(user_id)?,
                UserCommand::StartTotpEnrollment {
                    secret_ciphertext: ciphertext,
                },
                &context,
            )
            .await?;
        Ok(TotpEnrollment {
            secret: encode_totp_secret(&secret),
            otpauth_url: otpauth_url(
                user.email.as_ref().map(Email::as_str).unwrap_or_default(),
                &secret,
            ),
        })
    }

    /// Confirms the pending enrolment with a current code; from then on login asks for codes.
    /// Confirming ends the user's other sessions (their security version changes).
    pub async fn confirm_totp(
        &self,
        proof: &Authorized<permission::EnrollMfa>,
        code: &str,
        origin: &RequestOrigin,
    ) -> Result<bool, IdentityError> {
        let user_id = proof.user_id();
        let user = self.load_user(user_id).await?;
        let Some(pending) = &user.totp.pending_ciphertext else {
            return Err(IdentityError::from(DomainError::InvalidState(
                "no totp enrolment is pending".to_owned(),
            )));
        };
        let secret = self.secrets.open(pending, user_id.as_bytes())?;
        let context = self.context(
            format!("user:{user_id}"),
            Some(proof.organization_id()),
            origin,
        );
        let Some(step) = verify_totp(&secret, code, context.now.timestamp(), None) else {
            return Ok(false);
        };
        self.handler
            .execute::<User>(
                &stream_of::<User>(user_id)?,
                UserCommand::ConfirmTotp { step },
                &context,
            )
            .await?;
        Ok(true)
    }
}

/// Reports a domain validation error under the API's field name.
fn rename_field(error: DomainError, field: &'static str) -> IdentityError {
    match error {
        DomainError::InvalidInput { reason, .. } => {
            IdentityError::from(DomainError::InvalidInput { field, reason })
        }
        other => other.into(),
    }
}
