-- hash_bucket gives the same bucket on every engine: the first 32 bits of md5, read as
-- an unsigned integer, modulo 10000. Expected buckets were computed outside any database
-- (Python: int(hashlib.md5(value).hexdigest()[:8], 16) % 10000); 25 of the 40 values
-- have the top bit set, where a signed 32-bit reading (or a 31-bit mask) would go wrong.

with reference as (

    select 'rw-2026|global|p_b6589fc6ab0dc82cf120' as hashed_value, 3134 as expected_bucket
    union all select 'rw-2026|global|p_356a192b7913b04c5457' as hashed_value, 4898 as expected_bucket
    union all select 'rw-2026|global|p_da4b9237bacccdf19c07' as hashed_value, 2124 as expected_bucket
    union all select 'rw-2026|global|p_77de68daecd823babbb5' as hashed_value, 4327 as expected_bucket
    union all select 'rw-2026|global|p_1b6453892473a467d073' as hashed_value, 1289 as expected_bucket
    union all select 'rw-2026|global|p_ac3478d69a3c81fa62e6' as hashed_value, 7676 as expected_bucket
    union all select 'rw-2026|global|p_c1dfd96eea8cc2b62785' as hashed_value, 4837 as expected_bucket
    union all select 'rw-2026|global|p_902ba3cda1883801594b' as hashed_value, 3502 as expected_bucket
    union all select 'rw-2026|global|p_fe5dbbcea5ce7e2988b8' as hashed_value, 9472 as expected_bucket
    union all select 'rw-2026|global|p_0ade7c2cf97f75d00997' as hashed_value, 9470 as expected_bucket
    union all select 'rw-2026|global|p_b1d5781111d84f7b3fe4' as hashed_value, 4742 as expected_bucket
    union all select 'rw-2026|global|p_17ba0791499db908433b' as hashed_value, 2889 as expected_bucket
    union all select 'rw-2026|global|p_7b52009b64fd0a2a49e6' as hashed_value, 8228 as expected_bucket
    union all select 'rw-2026|global|p_bd307a3ec329e10a2cff' as hashed_value, 9015 as expected_bucket
    union all select 'rw-2026|global|p_fa35e192121eabf3dabf' as hashed_value, 8530 as expected_bucket
    union all select 'rw-2026|global|p_f1abd670358e036c3129' as hashed_value, 4088 as expected_bucket
    union all select 'rw-2026|global|p_1574bddb75c78a6fd225' as hashed_value, 3414 as expected_bucket
    union all select 'rw-2026|global|p_0716d9708d321ffb6a00' as hashed_value, 8567 as expected_bucket
    union all select 'rw-2026|global|p_9e6a55b6b4563e652a23' as hashed_value, 7131 as expected_bucket
    union all select 'rw-2026|global|p_b3f0c7f6bb763af1be91' as hashed_value, 3639 as expected_bucket
    union all select 'rw-2026|global|p_91032ad7bbcb6cf72875' as hashed_value, 9759 as expected_bucket
    union all select 'rw-2026|global|p_472b07b9fcf2c2451e87' as hashed_value, 9998 as expected_bucket
    union all select 'rw-2026|global|p_12c6fc06c99a462375ee' as hashed_value, 5592 as expected_bucket
    union all select 'rw-2026|global|p_d435a6cdd786300dff20' as hashed_value, 6401 as expected_bucket
    union all select 'rw-2026|global|p_4d134bc072212ace2df3' as hashed_value, 5932 as expected_bucket
    union all select 'rw-2026|global|p_f6e1126cedebf23e1463' as hashed_value, 3005 as expected_bucket
    union all select 'rw-2026|global|p_887309d048beef83ad3e' as hashed_value, 6429 as expected_bucket
    union all select 'rw-2026|global|p_bc33ea4e26e5e1af1408' as hashed_value, 7926 as expected_bucket
    union all select 'rw-2026|global|p_0a57cb53ba59c46fc4b6' as hashed_value, 5503 as expected_bucket
    union all select 'rw-2026|global|p_7719a1c782a1ba91c031' as hashed_value, 8104 as expected_bucket
    union all select 'rw-2026|global|p_22d200f8670dbdb3e253' as hashed_value, 8732 as expected_bucket
    union all select 'rw-2026|global|p_632667547e7cd3e04665' as hashed_value, 9665 as expected_bucket
    union all select 'rw-2026|global|p_cb4e5208b4cd87268b20' as hashed_value, 8364 as expected_bucket
    union all select 'rw-2026|global|p_b6692ea5df920cad691c' as hashed_value, 4012 as expected_bucket
    union all select 'rw-2026|global|p_f1f836cb4ea6efb2a0b1' as hashed_value, 69 as expected_bucket
    union all select 'rw-2026|global|p_972a67c48192728a3497' as hashed_value, 3009 as expected_bucket
    union all select 'rw-2026|global|p_fc074d501302eb2b93e2' as hashed_value, 6338 as expected_bucket
    union all select 'rw-2026|global|p_cb7a1d775e800fd1ee40' as hashed_value, 5601 as expected_bucket
    union all select 'rw-2026|global|p_af3e133428b9e25c55bc' as hashed_value, 8348 as expected_bucket
    union all select 'rw-2026|global|p_761f22b2c1593d0bb87e' as hashed_value, 7231 as expected_bucket

)

select
    hashed_value,
    expected_bucket,
    {{ hash_bucket('hashed_value') }} as actual_bucket
from reference
where {{ hash_bucket('hashed_value') }} <> expected_bucket
