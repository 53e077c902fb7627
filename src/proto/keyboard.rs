//! Keyboard layouts by name. The client core data's keyboardLayout
//! ([MS-RDPBCGR] 2.2.1.3.2) is a Windows keyboard layout identifier
//! (KLID): the low 16 bits are the language identifier (LANGID,
//! [MS-LCID]), the high 16 bits the layout variant of that language.
//! Names as in Microsoft's "Keyboard identifiers and input method
//! editors for Windows" and [MS-LCID]; the common layouts only.

/// Layout names by KLID.
const LAYOUTS: &[(u32, &str)] = &[
    (0x0000_0401, "Arabic (101)"),
    (0x0000_0402, "Bulgarian (Typewriter)"),
    (0x0000_0404, "Chinese (Traditional) - US"),
    (0x0000_0405, "Czech"),
    (0x0000_0406, "Danish"),
    (0x0000_0407, "German"),
    (0x0000_0408, "Greek"),
    (0x0000_0409, "US"),
    (0x0000_040a, "Spanish"),
    (0x0000_040b, "Finnish"),
    (0x0000_040c, "French"),
    (0x0000_040d, "Hebrew"),
    (0x0000_040e, "Hungarian"),
    (0x0000_040f, "Icelandic"),
    (0x0000_0410, "Italian"),
    (0x0000_0411, "Japanese"),
    (0x0000_0412, "Korean"),
    (0x0000_0413, "Dutch"),
    (0x0000_0414, "Norwegian"),
    (0x0000_0415, "Polish (214)"),
    (0x0000_0416, "Portuguese (Brazil ABNT)"),
    (0x0000_0418, "Romanian (Legacy)"),
    (0x0000_0419, "Russian"),
    (0x0000_041a, "Standard (Croatian)"),
    (0x0000_041b, "Slovak"),
    (0x0000_041d, "Swedish"),
    (0x0000_041e, "Thai Kedmanee"),
    (0x0000_041f, "Turkish Q"),
    (0x0000_0422, "Ukrainian"),
    (0x0000_0424, "Slovenian"),
    (0x0000_0425, "Estonian"),
    (0x0000_0426, "Latvian"),
    (0x0000_0427, "Lithuanian IBM"),
    (0x0000_0429, "Persian"),
    (0x0000_042a, "Vietnamese"),
    (0x0000_0439, "Hindi Traditional"),
    (0x0000_0804, "Chinese (Simplified) - US"),
    (0x0000_0807, "Swiss German"),
    (0x0000_0809, "United Kingdom"),
    (0x0000_080a, "Latin American"),
    (0x0000_080c, "Belgian French"),
    (0x0000_0813, "Belgian (Period)"),
    (0x0000_0816, "Portuguese"),
    (0x0000_081a, "Serbian (Latin)"),
    (0x0000_0c0c, "Canadian French (Legacy)"),
    (0x0000_0c1a, "Serbian (Cyrillic)"),
    (0x0000_1009, "Canadian French"),
    (0x0000_100c, "Swiss French"),
    (0x0000_1809, "Irish"),
    (0x0001_0409, "United States-Dvorak"),
    (0x0001_0415, "Polish (Programmers)"),
    (0x0001_0416, "Portuguese (Brazil ABNT2)"),
    (0x0001_041e, "Thai Pattachote"),
    (0x0001_041f, "Turkish F"),
    (0x0001_080c, "Belgian (Comma)"),
    (0x0001_1009, "Canadian Multilingual Standard"),
    (0x0002_0409, "United States-International"),
    (0x0002_041e, "Thai Kedmanee (non-ShiftLock)"),
    (0x0003_041e, "Thai Pattachote (non-ShiftLock)"),
];

/// Language names by LANGID ([MS-LCID] 2.2).
const LANGUAGES: &[(u16, &str)] = &[
    (0x0401, "Arabic (Saudi Arabia)"),
    (0x0402, "Bulgarian"),
    (0x0404, "Chinese (Taiwan)"),
    (0x0405, "Czech"),
    (0x0406, "Danish"),
    (0x0407, "German (Germany)"),
    (0x0408, "Greek"),
    (0x0409, "English (United States)"),
    (0x040a, "Spanish (Spain, Traditional Sort)"),
    (0x040b, "Finnish"),
    (0x040c, "French (France)"),
    (0x040d, "Hebrew"),
    (0x040e, "Hungarian"),
    (0x040f, "Icelandic"),
    (0x0410, "Italian (Italy)"),
    (0x0411, "Japanese"),
    (0x0412, "Korean"),
    (0x0413, "Dutch (Netherlands)"),
    (0x0414, "Norwegian (Bokmal)"),
    (0x0415, "Polish"),
    (0x0416, "Portuguese (Brazil)"),
    (0x0418, "Romanian"),
    (0x0419, "Russian"),
    (0x041a, "Croatian"),
    (0x041b, "Slovak"),
    (0x041d, "Swedish (Sweden)"),
    (0x041e, "Thai"),
    (0x041f, "Turkish"),
    (0x0422, "Ukrainian"),
    (0x0424, "Slovenian"),
    (0x0425, "Estonian"),
    (0x0426, "Latvian"),
    (0x0427, "Lithuanian"),
    (0x0429, "Persian"),
    (0x042a, "Vietnamese"),
    (0x0439, "Hindi"),
    (0x0804, "Chinese (PRC)"),
    (0x0807, "German (Switzerland)"),
    (0x0809, "English (United Kingdom)"),
    (0x080a, "Spanish (Mexico)"),
    (0x080c, "French (Belgium)"),
    (0x0813, "Dutch (Belgium)"),
    (0x0816, "Portuguese (Portugal)"),
    (0x081a, "Serbian (Latin)"),
    (0x0c09, "English (Australia)"),
    (0x0c0a, "Spanish (Spain)"),
    (0x0c0c, "French (Canada)"),
    (0x0c1a, "Serbian (Cyrillic)"),
    (0x1009, "English (Canada)"),
    (0x100c, "French (Switzerland)"),
    (0x1809, "English (Ireland)"),
];

/// The language of a keyboard layout (its low 16 bits), if known.
pub fn language(klid: u32) -> Option<&'static str> {
    let lang = (klid & 0xffff) as u16;
    LANGUAGES
        .iter()
        .find(|(id, _)| *id == lang)
        .map(|(_, n)| *n)
}

/// The layout's name: its own (`US`), else its language's with a note
/// that the variant is not known, else `unknown (0x........)`.
pub fn layout_name(klid: u32) -> String {
    if let Some((_, n)) = LAYOUTS.iter().find(|(id, _)| *id == klid) {
        return (*n).to_string();
    }
    match language(klid) {
        Some(l) => format!("{l} (layout variant 0x{:04x} not known)", klid >> 16),
        None => format!("unknown (0x{klid:08x})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_by_name_and_unknown_kept_as_hex() {
        assert_eq!(layout_name(0x0409), "US");
        assert_eq!(language(0x0409), Some("English (United States)"));
        assert_eq!(layout_name(0x0002_0409), "United States-International");
        assert_eq!(layout_name(0x0001_041e), "Thai Pattachote");
        // zeek/rdp-unknown-keyboard.pcap: 0x0004041e is no Windows layout.
        assert_eq!(
            layout_name(0x0004_041e),
            "Thai (layout variant 0x0004 not known)"
        );
        assert_eq!(language(0x0004_041e), Some("Thai"));
        assert_eq!(layout_name(0x0000_7777), "unknown (0x00007777)");
        assert_eq!(language(0x7777), None);
    }

    #[test]
    fn tables_have_no_duplicates() {
        for (i, (a, _)) in LAYOUTS.iter().enumerate() {
            assert!(LAYOUTS[i + 1..].iter().all(|(b, _)| a != b), "{a:x}");
        }
        for (i, (a, _)) in LANGUAGES.iter().enumerate() {
            assert!(LANGUAGES[i + 1..].iter().all(|(b, _)| a != b), "{a:x}");
        }
    }
}
