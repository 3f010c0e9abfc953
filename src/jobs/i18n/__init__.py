"""Jobs' own words in its people's languages: gettext catalogs (locale/), a Translator per
language, language codes, detection from what a person writes, and who speaks what."""
