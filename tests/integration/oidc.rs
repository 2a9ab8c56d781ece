//! OIDC login (Mirage as the relying party) against a real OpenID Provider: `oidc-provider`
//! from npm on 127.0.0.1, logged into through its development interactions with plain HTTP.

use chrono::Utc;
use reqwest::Url;
use security::oidc::http_client;
use security::{
    IdTokenCheck, OidcClient, OidcError, OidcIdentity, PendingLogin, TokenEndpointAuth,
};
use tests::oidc::{
    EMAIL, OidcProviderProcess, ProviderOptions, SUBJECT, login_through_browserless_flow,
};

async fn discover(provider: &OidcProviderProcess) -> OidcClient {
    OidcClient::discover(provider.client_config(), &http_client().unwrap())
        .await
        .unwrap()
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Logs in through the provider and returns the callback's `code` and `state`.
async fn login(authorization_url: &Url) -> (String, String) {
    let callback = login_through_browserless_flow(authorization_url).await;
    (
        query(&callback, "code").expect("code in the callback"),
        query(&callback, "state").expect("state in the callback"),
    )
}

fn expected_identity(provider: &OidcProviderProcess) -> OidcIdentity {
    OidcIdentity {
        issuer: provider.issuer.clone(),
        subject: SUBJECT.to_owned(),
        email: Some(EMAIL.to_owned()),
        email_verified: true,
    }
}

#[tokio::test]
async fn code_flow_with_pkce_yields_the_accounts_issuer_and_subject() {
    let provider = OidcProviderProcess::start().await;
    let client = discover(&provider).await;
    assert_eq!(
        client.metadata().token_endpoint_auth,
        TokenEndpointAuth::ClientSecretBasic
    );
    let (request, pending) = client.begin().unwrap();
    assert_eq!(
        query(&request.url, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query(&request.url, "response_type").as_deref(),
        Some("code")
    );

    let callback = login_through_browserless_flow(&request.url).await;
    assert_eq!(query(&callback, "state"), Some(pending.state.clone()));
    assert_eq!(query(&callback, "iss"), Some(provider.issuer.clone()));
    // RFC 9207: the provider announces `iss` in responses, so it must be there and exact.
    assert!(
        client
            .metadata()
            .authorization_response_iss_parameter_supported
    );
    client
        .check_response_issuer(query(&callback, "iss").as_deref())
        .unwrap();
    for wrong in [None, Some("http://127.0.0.1:1"), Some("")] {
        assert!(matches!(
            client.check_response_issuer(wrong),
            Err(OidcError::ResponseIssuerMismatch)
        ));
    }
    let code = query(&callback, "code").unwrap();
    let state = query(&callback, "state").unwrap();

    let identity = client
        .complete(pending, &state, &code, Utc::now())
        .await
        .unwrap();
    // The RS256 ID token carries only sub; the email comes from userinfo, checked to be
    // about the same sub.
    assert_eq!(identity, expected_identity(&provider));
}

#[tokio::test]
async fn es256_id_tokens_and_client_secret_post() {
    let provider = OidcProviderProcess::start_with(ProviderOptions {
        auth_method: "client_secret_post",
        id_token_alg: "ES256",
    })
    .await;
    let client = discover(&provider)
        .await
        .with_token_endpoint_auth(TokenEndpointAuth::ClientSecretPost)
        .unwrap();
    let (request, pending) = client.begin().unwrap();
    let (code, state) = login(&request.url).await;
    let identity = client
        .complete(pending, &state, &code, Utc::now())
        .await
        .unwrap();
    assert_eq!(identity, expected_identity(&provider));
}

#[tokio::test]
async fn a_wrong_state_is_refused_before_the_code_is_spent() {
    let provider = OidcProviderProcess::start().await;
    let client = discover(&provider).await;
    let (request, pending) = client.begin().unwrap();
    let (_other_request, other) = client.begin().unwrap();
    let (code, state) = login(&request.url).await;

    for wrong in [other.state.as_str(), "", &state[..state.len() - 1]] {
        let refused = client
            .complete(pending.clone(), wrong, &code, Utc::now())
            .await;
        assert!(
            matches!(refused, Err(OidcError::StateMismatch)),
            "{refused:?}"
        );
    }
    // Nothing was sent to the provider: the code still works with the right state.
    let identity = client
        .complete(pending, &state, &code, Utc::now())
        .await
        .unwrap();
    assert_eq!(identity.subject, SUBJECT);
}

#[tokio::test]
async fn a_replayed_code_is_refused_by_the_provider() {
    let provider = OidcProviderProcess::start().await;
    let client = discover(&provider).await;
    let (request, pending) = client.begin().unwrap();
    let (code, state) = login(&request.url).await;
    client
        .complete(pending.clone(), &state, &code, Utc::now())
        .await
        .unwrap();

    let replay = client.complete(pending, &state, &code, Utc::now()).await;
    match replay {
        Err(OidcError::TokenEndpoint { status, error }) => {
            assert_eq!(status, 400);
            assert_eq!(error.as_deref(), Some("invalid_grant"));
        }
        other => panic!("a replayed code must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn an_id_token_for_another_logins_nonce_or_verifier_is_refused() {
    let provider = OidcProviderProcess::start().await;
    let client = discover(&provider).await;
    let (request, pending) = client.begin().unwrap();
    let (_other_request, other) = client.begin().unwrap();

    // Right state and verifier, another login's nonce: the provider issues the ID token with
    // this login's nonce, and Mirage refuses it.
    let (code, state) = login(&request.url).await;
    let swapped_nonce = PendingLogin {
        nonce: other.nonce.clone(),
        ..pending.clone()
    };
    let refused = client
        .complete(swapped_nonce, &state, &code, Utc::now())
        .await;
    assert!(
        matches!(refused, Err(OidcError::InvalidIdToken(IdTokenCheck::Nonce))),
        "{refused:?}"
    );

    // Another login's PKCE verifier: the provider refuses the code.
    let (code, state) = login(&request.url).await;
    let swapped_verifier = PendingLogin {
        code_verifier: other.code_verifier.clone(),
        ..pending.clone()
    };
    let refused = client
        .complete(swapped_verifier, &state, &code, Utc::now())
        .await;
    assert!(
        matches!(
            &refused,
            Err(OidcError::TokenEndpoint { status: 400, error }) if error.as_deref() == Some("invalid_grant")
        ),
        "{refused:?}"
    );
    // The error names no secret.
    let message = refused.unwrap_err().to_string();
    for secret in [&code, &pending.code_verifier, &other.code_verifier] {
        assert!(!message.contains(secret.as_str()), "{message}");
    }
    assert!(!message.contains(tests::oidc::CLIENT_SECRET), "{message}");
}

#[tokio::test]
async fn discovery_refuses_an_issuer_that_does_not_match_exactly() {
    let provider = OidcProviderProcess::start().await;
    let http = http_client().unwrap();
    let port = Url::parse(&provider.issuer).unwrap().port().unwrap();
    for configured in [
        format!("{}/", provider.issuer),
        format!("HTTP://127.0.0.1:{port}"),
    ] {
        let config = security::OidcProviderConfig {
            issuer: configured.clone(),
            ..provider.client_config()
        };
        match OidcClient::discover(config, &http).await {
            Err(OidcError::IssuerMismatch {
                configured: said,
                discovered,
            }) => {
                assert_eq!(said, configured);
                assert_eq!(discovered, provider.issuer);
            }
            other => panic!("{configured}: expected an issuer mismatch, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_closed_port_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let provider_config = security::OidcProviderConfig {
        issuer: format!("http://127.0.0.1:{port}"),
        client_id: "mirage-test".to_owned(),
        client_secret: Some("secret".to_owned()),
        redirect_uri: "http://127.0.0.1:9/cb".to_owned(),
        scopes: vec![],
    };
    let discovery = OidcClient::discover(provider_config, &http_client().unwrap()).await;
    match discovery {
        Err(error @ OidcError::Network { endpoint, .. }) => {
            assert_eq!(endpoint, "discovery document");
            assert!(
                error
                    .to_string()
                    .starts_with("oidc request to the discovery"),
                "{error}"
            );
        }
        other => panic!("expected a network error, got {other:?}"),
    }

    // The provider goes away between the login and the code exchange.
    let provider = OidcProviderProcess::start().await;
    let client = discover(&provider).await;
    let (request, pending) = client.begin().unwrap();
    let (code, state) = login(&request.url).await;
    provider.stop().await;
    let completed = client.complete(pending, &state, &code, Utc::now()).await;
    assert!(
        matches!(
            completed,
            Err(OidcError::Network {
                endpoint: "token endpoint",
                ..
            })
        ),
        "{completed:?}"
    );
}
