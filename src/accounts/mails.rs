//! The messages the accounts area sends. Plain text, French, with the link on its own line;
//! a link is the only secret a message carries, and it is single-use and expiring.

use crate::mail::NewMail;

/// What the messages need to know about the portal.
#[derive(Clone, Debug)]
pub struct Links {
    /// The public address of the portal (`public_url`), without trailing slash.
    pub base: String,
    /// The portal's name.
    pub portal: String,
}

impl Links {
    /// From the configuration.
    pub fn new(public_url: &url::Url, portal: &str) -> Self {
        Self { base: public_url.as_str().trim_end_matches('/').to_owned(), portal: portal.to_owned() }
    }

    fn url(&self, path: &str, token: &str) -> String {
        format!("{}{path}?jeton={token}", self.base)
    }

    fn footer(&self) -> String {
        format!(
            "\n\n--\n{} — portail du Dispositif d'Appui à la Coordination.\nCe message est envoyé automatiquement ; merci de ne pas y répondre.\n",
            self.portal
        )
    }

    /// The address check sent after registration.
    pub fn verify_email(&self, to: &str, name: &str, token: &str, lifetime: &str) -> NewMail {
        NewMail {
            recipient: to.to_owned(),
            subject: format!("{} : confirmez votre adresse e-mail", self.portal),
            body_text: format!(
                "Bonjour {name},\n\nVous avez demandé la création d'un compte sur {portal}. Pour confirmer votre adresse e-mail, ouvrez ce lien (valable {lifetime}, utilisable une seule fois) :\n\n{url}\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message : aucun compte ne sera activé.{footer}",
                portal = self.portal,
                url = self.url("/compte/verification", token),
                footer = self.footer()
            ),
        }
    }

    /// Sent instead of a second account when someone registers with a known address.
    pub fn already_registered(&self, to: &str, name: &str) -> NewMail {
        NewMail {
            recipient: to.to_owned(),
            subject: format!("{} : tentative d'inscription avec votre adresse", self.portal),
            body_text: format!(
                "Bonjour {name},\n\nQuelqu'un, peut-être vous, a voulu créer un compte sur {portal} avec cette adresse e-mail, qui a déjà un compte. Aucun second compte n'a été créé.\n\nSi vous avez oublié votre mot de passe, vous pouvez en choisir un nouveau ici :\n\n{base}/mot-de-passe-oublie\n\nSi vous n'êtes pas à l'origine de cette demande, vous pouvez ignorer ce message.{footer}",
                portal = self.portal,
                base = self.base,
                footer = self.footer()
            ),
        }
    }

    /// The password reset link.
    pub fn reset_password(&self, to: &str, name: &str, token: &str, lifetime: &str) -> NewMail {
        NewMail {
            recipient: to.to_owned(),
            subject: format!("{} : choisir un nouveau mot de passe", self.portal),
            body_text: format!(
                "Bonjour {name},\n\nUne demande de nouveau mot de passe a été faite pour votre compte. Pour choisir un nouveau mot de passe, ouvrez ce lien (valable {lifetime}, utilisable une seule fois) :\n\n{url}\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe actuel reste valable.{footer}",
                url = self.url("/mot-de-passe/nouveau", token),
                footer = self.footer()
            ),
        }
    }

    /// The check of a new address.
    pub fn change_email(&self, to: &str, name: &str, token: &str, lifetime: &str) -> NewMail {
        NewMail {
            recipient: to.to_owned(),
            subject: format!("{} : confirmez votre nouvelle adresse e-mail", self.portal),
            body_text: format!(
                "Bonjour {name},\n\nVous avez demandé à utiliser cette adresse pour votre compte {portal}. Pour confirmer, ouvrez ce lien (valable {lifetime}, utilisable une seule fois) :\n\n{url}\n\nTant que vous n'avez pas confirmé, l'ancienne adresse reste celle du compte.{footer}",
                portal = self.portal,
                url = self.url("/compte/courriel/confirmation", token),
                footer = self.footer()
            ),
        }
    }

    /// A notice to the old address when a change is requested.
    pub fn email_change_notice(&self, to: &str, name: &str) -> NewMail {
        NewMail {
            recipient: to.to_owned(),
            subject: format!("{} : changement d'adresse e-mail demandé", self.portal),
            body_text: format!(
                "Bonjour {name},\n\nUn changement de l'adresse e-mail de votre compte {portal} a été demandé. Il ne prendra effet que lorsque la nouvelle adresse aura été confirmée.\n\nSi vous n'êtes pas à l'origine de cette demande, changez votre mot de passe et prévenez l'équipe du DAC par le formulaire de contact.{footer}",
                portal = self.portal,
                footer = self.footer()
            ),
        }
    }

    /// Sent to a new address that already belongs to an account.
    pub fn address_taken(&self, to: &str) -> NewMail {
        NewMail {
            recipient: to.to_owned(),
            subject: format!("{} : adresse déjà utilisée", self.portal),
            body_text: format!(
                "Bonjour,\n\nQuelqu'un a voulu associer cette adresse e-mail à un compte {portal}, mais elle est déjà celle d'un autre compte. Aucun changement n'a été fait.{footer}",
                portal = self.portal,
                footer = self.footer()
            ),
        }
    }

    /// Confirms a closure.
    pub fn account_closed(&self, to: &str, name: &str) -> NewMail {
        NewMail {
            recipient: to.to_owned(),
            subject: format!("{} : votre compte est clôturé", self.portal),
            body_text: format!(
                "Bonjour {name},\n\nVotre compte {portal} est clôturé : vous ne pouvez plus vous connecter et vos sessions ont été fermées. Comme l'expliquent les conditions d'utilisation, le journal des accès est conservé six mois puis archivé pour la durée de prescription, ainsi que la preuve de votre acceptation des conditions.\n\nVous pouvez créer un nouveau compte à tout moment.{footer}",
                portal = self.portal,
                footer = self.footer()
            ),
        }
    }

    /// Tells administrators that an account waits for approval.
    pub fn approval_needed(&self, to: &str, who: &str, user_id: i64) -> NewMail {
        NewMail {
            recipient: to.to_owned(),
            subject: format!("{} : une inscription attend votre validation", self.portal),
            body_text: format!(
                "Bonjour,\n\n{who} a confirmé son adresse e-mail et attend la validation de son compte :\n\n{base}/admin/comptes/{user_id}{footer}",
                base = self.base,
                footer = self.footer()
            ),
        }
    }

    /// Tells a professional that their account was approved.
    pub fn approved(&self, to: &str, name: &str) -> NewMail {
        NewMail {
            recipient: to.to_owned(),
            subject: format!("{} : votre compte est activé", self.portal),
            body_text: format!(
                "Bonjour {name},\n\nVotre compte {portal} a été validé par l'équipe du DAC. Vous pouvez vous connecter :\n\n{base}/connexion{footer}",
                portal = self.portal,
                base = self.base,
                footer = self.footer()
            ),
        }
    }

    /// An invitation from an organisation manager.
    pub fn invitation(&self, to: &str, organisation: &str, by: &str, token: &str, lifetime: &str) -> NewMail {
        NewMail {
            recipient: to.to_owned(),
            subject: format!("{} : invitation à rejoindre {organisation}", self.portal),
            body_text: format!(
                "Bonjour,\n\n{by} vous invite à rejoindre l'espace de {organisation} sur {portal}. Pour activer votre compte et choisir votre mot de passe, ouvrez ce lien (valable {lifetime}, utilisable une seule fois) :\n\n{url}\n\nSi vous ne connaissez pas cette personne, ignorez ce message.{footer}",
                portal = self.portal,
                url = self.url("/invitation", token),
                footer = self.footer()
            ),
        }
    }
}
