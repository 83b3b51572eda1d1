//! Every user-visible string of the frame, per locale, in one place: English,
//! Spanish and Arabic (right-to-left). `{n}` in a string is a number filled in by
//! [`fill`]. Pick a table with [`strings`]; unknown locales fall back to English.

/// Shown when the frame is opened without a host page: for the site owner, in English.
pub const STANDALONE_NOTICE: &str =
    "This page is the EverDesk widget frame. Add the loader script to a page to use it.";

/// Shown when the frame was opened for a host page the proxy does not allow to embed
/// it (`EVERDESK_ALLOWED_HOSTS`): for the site owner, in English.
pub const HOST_REFUSED_NOTICE: &str = "This site may not show this EverDesk widget. \
     The widget's owner can allow it in EVERDESK_ALLOWED_HOSTS.";

/// All strings of the widget in one language.
#[derive(Debug)]
pub struct Strings {
    /// BCP 47 primary language.
    pub lang: &'static str,
    /// Whether the script runs right to left.
    pub rtl: bool,
    /// Launcher label while the panel is closed.
    pub open_chat: &'static str,
    /// Close button of the panel.
    pub close_chat: &'static str,
    /// Greeting above the ticket list.
    pub welcome: &'static str,
    /// Heading of the ticket list.
    pub conversations: &'static str,
    /// Empty ticket list.
    pub no_conversations: &'static str,
    /// Button: start a ticket.
    pub new_conversation: &'static str,
    /// Label of the subject field.
    pub subject_label: &'static str,
    /// Placeholder of the subject field.
    pub subject_placeholder: &'static str,
    /// Button: create the ticket.
    pub start: &'static str,
    /// Button: back to the list.
    pub back: &'static str,
    /// Ticket status open.
    pub status_open: &'static str,
    /// Ticket status closed.
    pub status_closed: &'static str,
    /// Unread marker, `{n}` replies.
    pub unread: &'static str,
    /// Label of the message box.
    pub message_label: &'static str,
    /// Placeholder of the message box.
    pub message_placeholder: &'static str,
    /// Send button.
    pub send: &'static str,
    /// Counter, `{n}` characters left.
    pub chars_left: &'static str,
    /// Delivery: sending.
    pub sending: &'static str,
    /// Delivery: sent.
    pub sent: &'static str,
    /// Delivery: failed.
    pub not_sent: &'static str,
    /// Close refused while messages are still being sent.
    pub unsent_first: &'static str,
    /// Retry button.
    pub retry: &'static str,
    /// Typing indicator.
    pub typing: &'static str,
    /// Who wrote: the customer.
    pub you: &'static str,
    /// Who wrote: support.
    pub support: &'static str,
    /// Heading of recalled history.
    pub past_tickets: &'static str,
    /// Recalled history is empty.
    pub past_tickets_empty: &'static str,
    /// Button: escalate.
    pub talk_to_person: &'static str,
    /// Hand-off card heading.
    pub handoff_title: &'static str,
    /// Hand-off: the issue.
    pub handoff_issue: &'static str,
    /// Hand-off: what was tried.
    pub handoff_tried: &'static str,
    /// Hand-off: relevant history.
    pub handoff_history: &'static str,
    /// Hand-off: the note.
    pub handoff_note: &'static str,
    /// Button: close ticket.
    pub close_ticket: &'static str,
    /// Close form: rating question.
    pub rating_question: &'static str,
    /// Close form: a rating of `{n}` out of 5.
    pub rating_value: &'static str,
    /// Close form: comment label.
    pub comment_label: &'static str,
    /// Cancel button.
    pub cancel: &'static str,
    /// Closed ticket notice.
    pub closed_notice: &'static str,
    /// Button on a closed ticket: continue in a new ticket with the same subject.
    pub reopen: &'static str,
    /// Heading of what we remember.
    pub memory_title: &'static str,
    /// Nothing remembered yet.
    pub memory_empty: &'static str,
    /// Button: forget me.
    pub forget_me: &'static str,
    /// Forget-me confirmation question.
    pub forget_confirm: &'static str,
    /// Forget-me confirm button.
    pub forget_yes: &'static str,
    /// Forget-me done.
    pub forgotten: &'static str,
    /// Storage blocked notice.
    pub storage_notice: &'static str,
    /// Offline notice.
    pub offline_notice: &'static str,
    /// Generic failure.
    pub error_generic: &'static str,
    /// The proxy is unreachable.
    pub error_network: &'static str,
    /// Too many requests.
    pub error_rate_limited: &'static str,
    /// The memory service cannot do what was asked (forget-me on a server without
    /// delete): nothing was deleted.
    pub error_not_supported: &'static str,
    /// Screen-reader announcement of a new reply, `{n}` is unused.
    pub new_reply: &'static str,
    /// A person claimed the ticket, `{n}` is their name.
    pub agent_joined: &'static str,
    /// A person is typing, `{n}` is their name.
    pub agent_typing: &'static str,
    /// A person answers this conversation (no bot replies), `{n}` is their name.
    pub agent_handling: &'static str,
    /// Button: load the earlier messages of a conversation.
    pub earlier: &'static str,
}

/// English.
pub static EN: Strings = Strings {
    lang: "en",
    rtl: false,
    open_chat: "Open support chat",
    close_chat: "Close support chat",
    welcome: "Hi! Ask us anything. We remember your past tickets, so you never have to repeat yourself.",
    conversations: "Your conversations",
    no_conversations: "No conversations yet.",
    new_conversation: "New conversation",
    subject_label: "What do you need help with?",
    subject_placeholder: "e.g. I was charged twice",
    start: "Start conversation",
    back: "Back to conversations",
    status_open: "Open",
    status_closed: "Closed",
    unread: "{n} new",
    message_label: "Message",
    message_placeholder: "Type your message…",
    send: "Send",
    chars_left: "{n} characters left",
    sending: "Sending…",
    sent: "Sent",
    not_sent: "Not sent",
    unsent_first: "Some messages are still being sent. Close the ticket once they are.",
    retry: "Retry",
    typing: "Support is typing…",
    you: "You",
    support: "Support",
    past_tickets: "From your past tickets",
    past_tickets_empty: "No past tickets yet. When a ticket is closed we remember it here, so next time you don't have to explain again.",
    talk_to_person: "Talk to a person",
    handoff_title: "Handed over to a person",
    handoff_issue: "Your issue",
    handoff_tried: "What we tried",
    handoff_history: "Related past tickets",
    handoff_note: "Note for the agent",
    close_ticket: "Close ticket",
    rating_question: "How did we do? (optional)",
    rating_value: "{n} out of 5",
    comment_label: "Anything to add? (optional)",
    cancel: "Cancel",
    closed_notice: "This ticket is closed. Start a new conversation if you need more help.",
    reopen: "Reopen as a new conversation",
    memory_title: "What we remember",
    memory_empty: "We don't remember anything about you yet.",
    forget_me: "Forget me",
    forget_confirm: "Delete everything we remember about you, including past tickets? This cannot be undone.",
    forget_yes: "Yes, forget me",
    forgotten: "Done. We no longer remember anything about you.",
    storage_notice: "Your browser blocks storage, so this conversation is kept only while the page is open.",
    offline_notice: "You're offline. Your messages are saved and will be sent when you're back.",
    error_generic: "Something went wrong. Please try again.",
    error_network: "We can't reach support right now. Your message is saved.",
    error_rate_limited: "You're sending messages very quickly. Please wait a moment.",
    error_not_supported: "We can't delete your memory on this service yet, so nothing was deleted. Please contact support to have it removed.",
    new_reply: "New reply from support",
    agent_joined: "{n} has joined",
    agent_typing: "{n} is typing…",
    agent_handling: "{n} is handling this conversation",
    earlier: "Earlier messages",
};

/// Spanish.
pub static ES: Strings = Strings {
    lang: "es",
    rtl: false,
    open_chat: "Abrir el chat de soporte",
    close_chat: "Cerrar el chat de soporte",
    welcome: "¡Hola! Pregúntanos lo que quieras. Recordamos tus consultas anteriores para que no tengas que repetirte.",
    conversations: "Tus conversaciones",
    no_conversations: "Aún no hay conversaciones.",
    new_conversation: "Nueva conversación",
    subject_label: "¿En qué necesitas ayuda?",
    subject_placeholder: "p. ej. Me cobraron dos veces",
    start: "Empezar conversación",
    back: "Volver a las conversaciones",
    status_open: "Abierta",
    status_closed: "Cerrada",
    unread: "{n} nuevos",
    message_label: "Mensaje",
    message_placeholder: "Escribe tu mensaje…",
    send: "Enviar",
    chars_left: "Quedan {n} caracteres",
    sending: "Enviando…",
    sent: "Enviado",
    not_sent: "No enviado",
    unsent_first: "Aún se están enviando mensajes. Cierra la consulta cuando terminen.",
    retry: "Reintentar",
    typing: "Soporte está escribiendo…",
    you: "Tú",
    support: "Soporte",
    past_tickets: "De tus consultas anteriores",
    past_tickets_empty: "Aún no hay consultas anteriores. Cuando se cierra una consulta la recordamos aquí, para que no tengas que explicarla otra vez.",
    talk_to_person: "Hablar con una persona",
    handoff_title: "Transferido a una persona",
    handoff_issue: "Tu problema",
    handoff_tried: "Lo que probamos",
    handoff_history: "Consultas anteriores relacionadas",
    handoff_note: "Nota para el agente",
    close_ticket: "Cerrar consulta",
    rating_question: "¿Qué tal lo hicimos? (opcional)",
    rating_value: "{n} de 5",
    comment_label: "¿Algo más? (opcional)",
    cancel: "Cancelar",
    closed_notice: "Esta consulta está cerrada. Empieza una nueva conversación si necesitas más ayuda.",
    reopen: "Reabrir como nueva conversación",
    memory_title: "Lo que recordamos",
    memory_empty: "Aún no recordamos nada sobre ti.",
    forget_me: "Olvídame",
    forget_confirm: "¿Borrar todo lo que recordamos sobre ti, incluidas las consultas anteriores? No se puede deshacer.",
    forget_yes: "Sí, olvídame",
    forgotten: "Hecho. Ya no recordamos nada sobre ti.",
    storage_notice: "Tu navegador bloquea el almacenamiento: esta conversación solo se conserva mientras la página esté abierta.",
    offline_notice: "Sin conexión. Tus mensajes están guardados y se enviarán al volver.",
    error_generic: "Algo salió mal. Inténtalo de nuevo.",
    error_network: "No podemos contactar con soporte ahora. Tu mensaje está guardado.",
    error_rate_limited: "Estás enviando mensajes muy rápido. Espera un momento.",
    error_not_supported: "Este servicio aún no puede borrar tu memoria, así que no se ha borrado nada. Contacta con soporte para que la eliminen.",
    new_reply: "Nueva respuesta de soporte",
    agent_joined: "{n} se ha unido",
    agent_typing: "{n} está escribiendo…",
    agent_handling: "{n} está atendiendo esta conversación",
    earlier: "Mensajes anteriores",
};

/// Arabic (right to left).
pub static AR: Strings = Strings {
    lang: "ar",
    rtl: true,
    open_chat: "فتح محادثة الدعم",
    close_chat: "إغلاق محادثة الدعم",
    welcome: "مرحبًا! اسألنا عن أي شيء. نتذكر تذاكرك السابقة حتى لا تضطر إلى التكرار.",
    conversations: "محادثاتك",
    no_conversations: "لا توجد محادثات بعد.",
    new_conversation: "محادثة جديدة",
    subject_label: "بماذا تحتاج المساعدة؟",
    subject_placeholder: "مثال: تم خصم المبلغ مرتين",
    start: "بدء المحادثة",
    back: "العودة إلى المحادثات",
    status_open: "مفتوحة",
    status_closed: "مغلقة",
    unread: "{n} جديدة",
    message_label: "الرسالة",
    message_placeholder: "اكتب رسالتك…",
    send: "إرسال",
    chars_left: "متبقٍ {n} حرفًا",
    sending: "جارٍ الإرسال…",
    sent: "أُرسلت",
    not_sent: "لم تُرسل",
    unsent_first: "لا تزال بعض الرسائل قيد الإرسال. أغلق التذكرة بعد إرسالها.",
    retry: "إعادة المحاولة",
    typing: "فريق الدعم يكتب…",
    you: "أنت",
    support: "الدعم",
    past_tickets: "من تذاكرك السابقة",
    past_tickets_empty:
        "لا توجد تذاكر سابقة بعد. عند إغلاق تذكرة نتذكرها هنا، فلا تحتاج إلى الشرح مرة أخرى.",
    talk_to_person: "التحدث إلى شخص",
    handoff_title: "تم التحويل إلى موظف",
    handoff_issue: "مشكلتك",
    handoff_tried: "ما جربناه",
    handoff_history: "تذاكر سابقة ذات صلة",
    handoff_note: "ملاحظة للموظف",
    close_ticket: "إغلاق التذكرة",
    rating_question: "كيف كانت خدمتنا؟ (اختياري)",
    rating_value: "{n} من 5",
    comment_label: "هل لديك إضافة؟ (اختياري)",
    cancel: "إلغاء",
    closed_notice: "هذه التذكرة مغلقة. ابدأ محادثة جديدة إذا احتجت إلى مساعدة أخرى.",
    reopen: "إعادة الفتح كمحادثة جديدة",
    memory_title: "ما نتذكره عنك",
    memory_empty: "لا نتذكر أي شيء عنك بعد.",
    forget_me: "انسني",
    forget_confirm: "حذف كل ما نتذكره عنك بما في ذلك التذاكر السابقة؟ لا يمكن التراجع عن ذلك.",
    forget_yes: "نعم، انسني",
    forgotten: "تم. لم نعد نتذكر أي شيء عنك.",
    storage_notice: "متصفحك يمنع التخزين، لذا تُحفظ هذه المحادثة فقط ما دامت الصفحة مفتوحة.",
    offline_notice: "أنت غير متصل. رسائلك محفوظة وسترسل عند عودة الاتصال.",
    error_generic: "حدث خطأ ما. يرجى المحاولة مرة أخرى.",
    error_network: "تعذر الوصول إلى الدعم الآن. رسالتك محفوظة.",
    error_rate_limited: "أنت ترسل الرسائل بسرعة كبيرة. يرجى الانتظار قليلًا.",
    error_not_supported: "لا يمكننا حذف ذاكرتك على هذه الخدمة بعد، لذلك لم يُحذف أي شيء. يرجى التواصل مع الدعم لإزالتها.",
    new_reply: "رد جديد من الدعم",
    agent_joined: "انضم {n}",
    agent_typing: "{n} يكتب…",
    agent_handling: "{n} يتولى هذه المحادثة",
    earlier: "رسائل سابقة",
};

/// Every supported table.
pub static ALL: [&Strings; 3] = [&EN, &ES, &AR];

/// The table for a language tag (`ar-EG` → Arabic); English when unsupported.
pub fn strings(locale: &str) -> &'static Strings {
    let primary = locale.split(['-', '_']).next().unwrap_or("");
    ALL.iter()
        .copied()
        .find(|s| s.lang.eq_ignore_ascii_case(primary))
        .unwrap_or(&EN)
}

/// Fills the `{n}` placeholder.
pub fn fill(template: &str, n: impl std::fmt::Display) -> String {
    template.replace("{n}", &n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_resolve_by_primary_subtag_with_english_fallback() {
        assert_eq!(strings("ar-EG").lang, "ar");
        assert!(strings("ar").rtl);
        assert_eq!(strings("ES").lang, "es");
        assert_eq!(strings("fr-FR").lang, "en");
        assert_eq!(strings("").lang, "en");
    }

    #[test]
    fn every_table_is_complete_and_keeps_placeholders() {
        for s in ALL {
            for (name, template) in [
                ("unread", s.unread),
                ("chars_left", s.chars_left),
                ("rating_value", s.rating_value),
                ("agent_joined", s.agent_joined),
                ("agent_typing", s.agent_typing),
                ("agent_handling", s.agent_handling),
            ] {
                assert!(
                    template.contains("{n}"),
                    "{}: {name} lost its placeholder",
                    s.lang
                );
            }
            assert!(!s.welcome.is_empty() && !s.forget_confirm.is_empty());
        }
        assert_eq!(fill(EN.chars_left, 12), "12 characters left");
    }
}
